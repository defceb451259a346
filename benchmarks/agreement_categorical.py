"""Categorical agreement: ours against scikit-learn, statsmodels and ``krippendorff``.

10,000 items rated by 4 readers on a 5-point ordinal scale (a BI-RADS-like grading,
readers mostly agreeing and slipping by one grade a quarter of the time):

* Cohen's kappa, unweighted, linear and quadratic, for each of the 6 reader pairs:
  ``cohen_kappa`` against scikit-learn's ``cohen_kappa_score``;
* Fleiss' kappa from the items x categories count table: ``fleiss_kappa`` against
  statsmodels' ``fleiss_kappa`` (both given the same table);
* Krippendorff's alpha, nominal, ordinal and interval, on the readers x items matrix:
  ``krippendorff_alpha(..., n_boot=0)`` against ``krippendorff.alpha`` (neither makes
  an interval; the time of ours with its default 1,000-resample bootstrap interval is
  printed as well, outside the ratio).

Ours also computes its analytic standard error and interval for Cohen and Fleiss,
which the references do not. Each time is the best of several runs. Ours' peak
memory (tracemalloc) is reported against the size of the ratings.
Targets: >= 1x each reference, peak memory <= 3x the input.
Run: ``python benchmarks/agreement_categorical.py [--quick]``.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from typing import Any

import krippendorff
import numpy as np
from _harness import best_seconds, emit, print_table, traced_peak_bytes
from _reader_data import reader_ratings
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from shared.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha

CATEGORIES = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 1,000 items")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs; the best counts")
    args = parser.parse_args()
    readers, items = (4, 1_000) if args.quick else (4, 10_000)
    repeat = args.repeat or (3 if args.quick else 7)
    ratings = reader_ratings(readers, items, CATEGORIES, seed=2)
    reliability = ratings.astype(np.float64)
    table, _ = aggregate_raters(ratings.T, CATEGORIES)
    pairs = list(itertools.combinations(range(readers), 2))
    input_bytes = ratings.nbytes

    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}
    for weights in (None, "linear", "quadratic"):
        cases[f"cohen_{weights or 'unweighted'}"] = (
            lambda w=weights: [cohen_kappa(ratings[a], ratings[b], w).value for a, b in pairs],
            lambda w=weights: [
                cohen_kappa_score(ratings[a], ratings[b], weights=w) for a, b in pairs
            ],
        )
    cases["fleiss"] = (lambda: fleiss_kappa(table).value, lambda: statsmodels_fleiss(table))
    for level in ("nominal", "ordinal", "interval"):
        cases[f"krippendorff_{level}"] = (
            lambda lv=level: krippendorff_alpha(reliability, lv, n_boot=0).value,
            lambda lv=level: krippendorff.alpha(reliability, level_of_measurement=lv),
        )

    rows, ratios, figures, diffs, peaks = [], {}, {}, {}, []
    for name, (ours, reference) in cases.items():
        ours_s = best_seconds(ours, repeat)
        reference_s = best_seconds(reference, repeat)
        diffs[name] = float(np.max(np.abs(np.subtract(ours(), reference()))))
        peaks.append(traced_peak_bytes(ours))
        ratios[f"{name}_vs_reference"] = reference_s / ours_s
        figures[name] = {
            "ours_ms": round(ours_s * 1e3, 3),
            "reference_ms": round(reference_s * 1e3, 3),
        }
        ratio = reference_s / ours_s
        rows.append(
            [
                name,
                f"{ours_s * 1e3:.2f}",
                f"{reference_s * 1e3:.2f}",
                f"{ratio:.2f}x",
                f"{diffs[name]:.1e}",
            ]
        )
    boot_s = best_seconds(lambda: krippendorff_alpha(reliability, "ordinal"), 1)
    peak = max(peaks)

    print_table(
        f"{readers} readers x {items} items, {CATEGORIES} categories "
        f"(Cohen: {len(pairs)} reader pairs per run)",
        ["metric", "ours ms", "reference ms", "ratio", "max |ours - reference|"],
        rows,
    )
    print(f"ours ordinal alpha with its 1000-resample bootstrap interval: {boot_s * 1e3:.0f} ms")
    print(f"ours peak extra memory: {peak / 2**20:.2f} MiB = {peak / input_bytes:.2f}x the input")
    for name, value in ratios.items():
        print(f"ratio {name}: {value:.2f}x (target >= 1)")
    emit(
        {
            "benchmark": "agreement_categorical",
            "quick": args.quick,
            "readers": readers,
            "items": items,
            "categories": CATEGORIES,
            **figures,
            "ours_alpha_ordinal_with_bootstrap_ms": round(boot_s * 1e3, 1),
            "max_abs_diff": {k: float(f"{v:.3g}") for k, v in diffs.items()},
            "ours_peak_mib": round(peak / 2**20, 3),
            "ours_peak_vs_input": round(peak / input_bytes, 3),
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "targets_met": {
                "speed_1x": all(v >= 1.0 for v in ratios.values()),
                "memory_3x": peak <= 3 * input_bytes,
            },
        }
    )


if __name__ == "__main__":
    main()
