"""The harmonization loop on the coordinator: calibration sets, round results, the report.

No FastAPI here (``coordinator.api.routes.harmonization`` is the HTTP face).
:class:`CalibrationSets` publishes signed phantom calibration sets and stores
the calibration annotations sites upload; a :class:`RoundResultStore` keeps the
statistics rounds' :class:`~shared.schemas.harmonization.RoundResult` s;
:class:`HarmonizationService` turns both into a :class:`HarmonizationReport`
per guideline version: within-site agreement with intervals, cross-site
agreement on calibration cases (per site, site pair and reader), sites and
labels below target, the trend across versions, where disagreement
concentrates, and the diversity overview.
"""

from coordinator.harmonize.calibration import (
    CalibrationAnnotation,
    CalibrationSetInfo,
    CalibrationSets,
)
from coordinator.harmonize.crosssite import CrossSiteLabel, SiteCalibration, cross_site_label
from coordinator.harmonize.figures import AgreementFigure, disagreement_cells, label_figure
from coordinator.harmonize.report import (
    CSV_COLUMNS,
    HarmonizationReport,
    HarmonizationService,
    LabelReport,
    build_report,
)
from coordinator.harmonize.rounds import (
    InMemoryRoundResults,
    RoundResultStore,
    SqlRoundResults,
    round_result_store,
)

__all__ = [
    "CSV_COLUMNS",
    "AgreementFigure",
    "CalibrationAnnotation",
    "CalibrationSetInfo",
    "CalibrationSets",
    "CrossSiteLabel",
    "HarmonizationReport",
    "HarmonizationService",
    "InMemoryRoundResults",
    "LabelReport",
    "RoundResultStore",
    "SiteCalibration",
    "SqlRoundResults",
    "build_report",
    "cross_site_label",
    "disagreement_cells",
    "label_figure",
    "round_result_store",
]
