"""The public layout of a statistics round's secure sum: which arrays, in what order, at what scale.

Under secure aggregation every site sends one flat vector, so every site
must lay its statistics out identically, whatever its data. The layout is a
function of the guideline version alone (its labels, their kinds and
category codes) and of the fixed diversity bins: a site fills every slot,
zeros where it has nothing (and, in a noised round, noise everywhere).

Each agreement statistic splits into **public** arrays (category codes,
value domains, label values, the detection score: from the guideline) and
**summed** arrays (:data:`SUMMED_FIELDS`, with their fixed-point scales).
Only the summed arrays travel in the secure sum; the public ones travel once
in the layout itself (:meth:`StatisticsLayout.to_json`, plain JSON: lists,
strings, numbers), which the coordinator uses to rebuild the statistics from
the decoded sums (:meth:`StatisticsLayout.decode`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shared.privacy.secure_sum import COINCIDENCE_SCALE, SecureSumError, SecureSumLayout

__all__ = ["FLOAT_SCALE", "HISTOGRAM_FIELDS", "SUMMED_FIELDS", "StatisticsLayout"]

FLOAT_SCALE = 2**16
"""Fixed-point scale of float sums (per-case Dice, F1 and score sums): 1/65536 resolution."""

SUMMED_FIELDS: Mapping[str, Mapping[str, int]] = {
    "confusion": {"counts": 1},
    "coincidence": {"coincidences": COINCIDENCE_SCALE},
    "overlap": {
        "n_cases": 1,
        "intersection": 1,
        "size_a": 1,
        "size_b": 1,
        "case_dice_sum": FLOAT_SCALE,
        "both_empty": 1,
        "dice_histogram": 1,
    },
    "detection": {
        "n_cases": 1,
        "n_a": 1,
        "n_b": 1,
        "n_matched": 1,
        "score_sum": FLOAT_SCALE,
        "case_f1_sum": FLOAT_SCALE,
    },
}
"""Per statistic, the arrays that are summed and their fixed-point scale (the rest is public)."""

HISTOGRAM_FIELDS: Mapping[str, int] = {"counts": 1}
"""Per diversity histogram, the summed arrays (``categories``/``edges`` are public)."""

Arrays = dict[str, NDArray[Any]]


def _public_json(value: Any) -> Any:
    array = np.asarray(value)
    return array.tolist() if array.ndim else array.item()


def _public_array(name: str, value: Any) -> NDArray[Any]:
    if name in ("categories", "score"):
        return np.asarray(value, dtype=str)
    if name == "labels":
        return np.asarray(value, dtype=np.int64)
    return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class _Entry:
    label: str
    statistic: str
    public: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class _Histogram:
    name: str
    public: dict[str, Any]
    bins: int


@dataclass(frozen=True)
class StatisticsLayout:
    """The guideline version, the agreement entries and the histograms of a secure sum."""

    guideline: tuple[str, str]
    entries: tuple[_Entry, ...]
    histograms: tuple[_Histogram, ...]

    @classmethod
    def from_payloads(
        cls, agreement: Mapping[str, Any], diversity: Mapping[str, Any]
    ) -> StatisticsLayout:
        """The layout of a site's (zero-filled) agreement and diversity payloads.

        Raises
        ------
        SecureSumError
            A statistic with no summed fields known here.
        """
        guideline = (str(agreement["guideline"]["name"]), str(agreement["guideline"]["version"]))
        entries = []
        for entry in agreement["statistics"]:
            summed = SUMMED_FIELDS.get(entry["statistic"])
            if summed is None:
                raise SecureSumError(f"no secure-sum layout for {entry['statistic']} statistics.")
            arrays = entry["arrays"]
            entries.append(
                _Entry(
                    str(entry["label"]),
                    str(entry["statistic"]),
                    {k: _public_json(v) for k, v in sorted(arrays.items()) if k not in summed},
                    {k: tuple(np.asarray(arrays[k]).shape) for k in summed},
                )
            )
        histograms = []
        for name, histogram in sorted(diversity["histograms"].items()):
            public = {k: _public_json(v) for k, v in histogram.items() if k not in HISTOGRAM_FIELDS}
            histograms.append(
                _Histogram(str(name), public, int(np.asarray(histogram["counts"]).size))
            )
        return cls(guideline, tuple(entries), tuple(histograms))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (the public part of the round; it carries no data of a site)."""
        return {
            "guideline": {"name": self.guideline[0], "version": self.guideline[1]},
            "statistics": [
                {
                    "label": e.label,
                    "statistic": e.statistic,
                    "public": e.public,
                    "shapes": {k: list(v) for k, v in e.shapes.items()},
                }
                for e in self.entries
            ],
            "histograms": [
                {"name": h.name, "public": h.public, "bins": h.bins} for h in self.histograms
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StatisticsLayout:
        """Read :meth:`to_json`'s form back.

        Raises
        ------
        SecureSumError
            On a malformed layout.
        """
        try:
            guideline = (str(data["guideline"]["name"]), str(data["guideline"]["version"]))
            entries = []
            for e in data["statistics"]:
                summed = SUMMED_FIELDS[str(e["statistic"])]
                shapes = {str(k): tuple(int(d) for d in v) for k, v in e["shapes"].items()}
                if set(shapes) != set(summed):
                    raise SecureSumError(f"{e['statistic']} needs exactly {sorted(summed)}.")
                entries.append(
                    _Entry(str(e["label"]), str(e["statistic"]), dict(e["public"]), shapes)
                )
            histograms = [
                _Histogram(str(h["name"]), dict(h["public"]), int(h["bins"]))
                for h in data["histograms"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise SecureSumError(f"not a secure-sum statistics layout ({exc!r}).") from None
        return cls(guideline, tuple(entries), tuple(histograms))

    def secure_layout(self) -> SecureSumLayout:
        """The flat vector's fields, in order."""
        fields: list[tuple[str, tuple[int, ...], int]] = []
        for index, entry in enumerate(self.entries):
            for name, scale in SUMMED_FIELDS[entry.statistic].items():
                fields.append((f"a{index}.{name}", entry.shapes[name], scale))
        for histogram in self.histograms:
            fields.append((f"h.{histogram.name}.counts", (histogram.bins,), 1))
        return SecureSumLayout.of(fields)

    def encode(self, agreement: Mapping[str, Any], diversity: Mapping[str, Any]) -> NDArray[Any]:
        """A site's payloads as the limb vector (every slot filled; absent ones are zero).

        Raises
        ------
        SecureSumError
            Payloads of another guideline version, or arrays off the layout.
        """
        ref = agreement["guideline"]
        if (str(ref["name"]), str(ref["version"])) != self.guideline:
            raise SecureSumError("the statistics are of another guideline version than the round.")
        found = {
            (str(e["label"]), str(e["statistic"])): e["arrays"] for e in agreement["statistics"]
        }
        arrays: dict[str, Any] = {}
        for index, entry in enumerate(self.entries):
            source = found.get((entry.label, entry.statistic))
            for name in SUMMED_FIELDS[entry.statistic]:
                shape = entry.shapes[name]
                arrays[f"a{index}.{name}"] = np.zeros(shape) if source is None else source[name]
        for histogram in self.histograms:
            counts = diversity["histograms"].get(histogram.name, {}).get("counts")
            arrays[f"h.{histogram.name}.counts"] = (
                np.zeros(histogram.bins) if counts is None else counts
            )
        return self.secure_layout().encode(arrays)

    def decode(self, sums: NDArray[Any]) -> tuple[list[tuple[str, str, Arrays]], dict[str, Arrays]]:
        """The summed vector → agreement entries ``(label, statistic, arrays)`` and histograms."""
        values = self.secure_layout().decode(sums)
        agreement = []
        for index, entry in enumerate(self.entries):
            arrays = {k: _public_array(k, v) for k, v in entry.public.items()}
            for name in SUMMED_FIELDS[entry.statistic]:
                arrays[name] = values[f"a{index}.{name}"]
            agreement.append((entry.label, entry.statistic, arrays))
        histograms = {}
        for histogram in self.histograms:
            arrays = {k: _public_array(k, v) for k, v in histogram.public.items()}
            arrays["counts"] = values[f"h.{histogram.name}.counts"]
            histograms[histogram.name] = arrays
        return agreement, histograms
