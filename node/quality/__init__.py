"""The node's local quality dashboard: agreement, reader performance, drift, checks.

No FastAPI here (``node.api.routes.quality`` is the HTTP face). Figures are
pooled from summable sufficient statistics of the shared agreement engine —
per-task statistics added with ``+``, then one kappa, alpha, Dice or F1
computed from the sum — which is exactly what a federated statistics round
will add across sites. :class:`QualityService` reads a project and returns a
:class:`QualityReport`; :func:`export` renders any view as CSV or JSON.
"""

from node.quality.checks import CheckThresholds, Finding, Severity, run_checks
from node.quality.data import (
    ConsensusLabel,
    PairResult,
    ProjectData,
    ReaderAnnotation,
    TaskState,
)
from node.quality.drift import DriftFlag, DriftPoint, DriftReport, DriftSettings, Period, drift
from node.quality.export import COLUMNS, ExportFormat, View, export, rows_to_csv
from node.quality.figures import (
    LabelFigure,
    PairFigure,
    label_figures,
    pair_figures,
    version_figures,
)
from node.quality.pooling import Figure, LabelPool, Moments, pool_label
from node.quality.readers import (
    ReaderFigure,
    SoftCounts,
    StapleCache,
    reader_figures,
    staple_counts,
)
from node.quality.report import QualityReport, QualityService, build_report
from node.quality.source import load_project

__all__ = [
    "COLUMNS",
    "CheckThresholds",
    "ConsensusLabel",
    "DriftFlag",
    "DriftPoint",
    "DriftReport",
    "DriftSettings",
    "ExportFormat",
    "Figure",
    "Finding",
    "LabelFigure",
    "LabelPool",
    "Moments",
    "PairFigure",
    "PairResult",
    "Period",
    "ProjectData",
    "QualityReport",
    "QualityService",
    "ReaderAnnotation",
    "ReaderFigure",
    "Severity",
    "SoftCounts",
    "StapleCache",
    "TaskState",
    "View",
    "build_report",
    "drift",
    "export",
    "label_figures",
    "load_project",
    "pair_figures",
    "pool_label",
    "reader_figures",
    "rows_to_csv",
    "run_checks",
    "staple_counts",
    "version_figures",
]
