"""A published calibration set: phantom cases every site generates identically.

A :class:`CalibrationSet` names a guideline version and lists
:class:`CalibrationCase` s, each a phantom recipe (modality, matrix, slices,
seed, scanner style, series number). Every node generates the same series
from the same recipe (:func:`generate_case`), so cross-site agreement is
measured on identical images, and no patient data exists by construction.
The coordinator signs :meth:`CalibrationSet.to_json` as a ``calibration-set``
release; nodes verify it before generating anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.calibration.errors import CalibrationSpecError
from shared.errors import PhantomSpecError
from shared.phantoms import SITE_STYLES, PhantomSeries, PhantomSpec, generate_series

__all__ = [
    "CALIBRATION_SITE",
    "RELEASE_KIND",
    "CalibrationCase",
    "CalibrationSet",
    "generate_case",
]

RELEASE_KIND = "calibration-set"
"""The signed-document kind of a calibration set release."""
CALIBRATION_SITE = "calibration"
"""The phantom ``site`` every calibration case is generated under (same UIDs everywhere)."""
MAX_CASES = 200
"""Most cases one set may hold."""

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def _ident(value: object, where: str) -> str:
    if not isinstance(value, str) or not _IDENT.match(value):
        raise CalibrationSpecError(
            f"{where} must be 1..64 letters, digits, '_', '.' or '-', got {value!r}"
        )
    return value


def _int(data: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CalibrationSpecError(f"{where}.{key} must be an integer, got {value!r}")
    return value


@dataclass(frozen=True)
class CalibrationCase:
    """One phantom recipe of a calibration set."""

    case_id: str
    modality: str = "CT"
    rows: int = 128
    columns: int = 128
    slices: int = 24
    seed: int = 0
    style: str = "reference"
    series_number: int = 1

    def __post_init__(self) -> None:
        _ident(self.case_id, "case_id")
        if self.style not in SITE_STYLES:
            raise CalibrationSpecError(
                f"case {self.case_id}: unknown style {self.style!r}; use one of "
                f"{', '.join(sorted(SITE_STYLES))}"
            )
        try:
            self.phantom_spec()
        except PhantomSpecError as exc:
            raise CalibrationSpecError(f"case {self.case_id}: {exc}") from None

    def phantom_spec(self) -> PhantomSpec:
        """The :class:`~shared.phantoms.PhantomSpec` this case generates."""
        return PhantomSpec(
            modality=self.modality,
            rows=self.rows,
            columns=self.columns,
            slices=self.slices,
            seed=self.seed,
            style=SITE_STYLES[self.style],
            site=CALIBRATION_SITE,
            series_number=self.series_number,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "case_id": self.case_id,
            "modality": self.modality,
            "rows": self.rows,
            "columns": self.columns,
            "slices": self.slices,
            "seed": self.seed,
            "style": self.style,
            "series_number": self.series_number,
        }

    @classmethod
    def from_json(cls, data: object, *, where: str = "case") -> CalibrationCase:
        """Validate a JSON case."""
        if not isinstance(data, Mapping):
            raise CalibrationSpecError(f"{where} must be an object")
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise CalibrationSpecError(f"{where} has unknown fields {sorted(unknown)}")
        return cls(
            case_id=_ident(data.get("case_id"), f"{where}.case_id"),
            modality=str(data.get("modality", "CT")),
            rows=_int(data, "rows", 128, where),
            columns=_int(data, "columns", 128, where),
            slices=_int(data, "slices", 24, where),
            seed=_int(data, "seed", 0, where),
            style=str(data.get("style", "reference")),
            series_number=_int(data, "series_number", 1, where),
        )


@dataclass(frozen=True)
class CalibrationSet:
    """A set of calibration cases for one guideline version."""

    set_id: str
    title: str
    guideline: str
    guideline_version: str
    cases: tuple[CalibrationCase, ...]

    def __post_init__(self) -> None:
        _ident(self.set_id, "set_id")
        _ident(self.guideline, "guideline.name")
        _ident(self.guideline_version, "guideline.version")
        if not 1 <= len(self.cases) <= MAX_CASES:
            raise CalibrationSpecError(f"a calibration set holds 1..{MAX_CASES} cases")
        ids = [c.case_id for c in self.cases]
        if len(set(ids)) != len(ids):
            raise CalibrationSpecError(f"case ids must be unique in a set; got {ids}")
        series = [(c.seed, c.series_number) for c in self.cases]
        if len(set(series)) != len(series):
            raise CalibrationSpecError(
                "two cases share seed and series_number and would be the same series; "
                "give each case its own seed or series_number"
            )

    @property
    def case_ids(self) -> frozenset[str]:
        """Every case id."""
        return frozenset(c.case_id for c in self.cases)

    def case(self, case_id: str) -> CalibrationCase:
        """The case called ``case_id``."""
        for case in self.cases:
            if case.case_id == case_id:
                return case
        raise CalibrationSpecError(f"set {self.set_id} has no case {case_id!r}")

    def to_json(self) -> dict[str, Any]:
        """JSON form (the signed payload)."""
        return {
            "set_id": self.set_id,
            "title": self.title,
            "guideline": {"name": self.guideline, "version": self.guideline_version},
            "cases": [c.to_json() for c in self.cases],
        }

    @classmethod
    def from_json(cls, data: object) -> CalibrationSet:
        """Validate a JSON calibration set."""
        if not isinstance(data, Mapping):
            raise CalibrationSpecError("a calibration set must be a JSON object")
        unknown = set(data) - {"set_id", "title", "guideline", "cases"}
        if unknown:
            raise CalibrationSpecError(f"the calibration set has unknown fields {sorted(unknown)}")
        guideline = data.get("guideline")
        if not isinstance(guideline, Mapping):
            raise CalibrationSpecError("guideline must be {'name': ..., 'version': ...}")
        cases = data.get("cases")
        if not isinstance(cases, list):
            raise CalibrationSpecError("cases must be a list of phantom recipes")
        title = data.get("title", "")
        return cls(
            set_id=_ident(data.get("set_id"), "set_id"),
            title=title if isinstance(title, str) else "",
            guideline=_ident(guideline.get("name"), "guideline.name"),
            guideline_version=_ident(guideline.get("version"), "guideline.version"),
            cases=tuple(
                CalibrationCase.from_json(c, where=f"cases[{i}]") for i, c in enumerate(cases)
            ),
        )


def generate_case(case: CalibrationCase) -> PhantomSeries:
    """The phantom series of ``case`` (identical bytes on every node)."""
    return generate_series(case.phantom_spec())
