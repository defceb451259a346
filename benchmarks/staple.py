"""Binary STAPLE consensus: ours against SimpleITK's STAPLEImageFilter.

Three readers' masks of 200 cases of 512x512 (each reader's cases stacked into one
200x512x512 volume, the form SimpleITK takes). Both run EM to convergence on the same
data; SimpleITK's time includes wrapping the numpy arrays as images. The maximum
absolute difference of the consensus probabilities and of the per-reader
sensitivities and specificities is printed. Ours' peak memory (tracemalloc, a
separate untimed run) is reported against the input size.
Targets: >= 1x SimpleITK, results within 1e-3, peak memory <= 3x the input.
Run: ``python benchmarks/staple.py [--quick]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import SimpleITK as sitk  # noqa: N813 - the library's own convention
from _harness import best_seconds, emit, print_table, traced_peak_bytes
from _reader_data import reader_masks

from shared.consensus import StapleResult, staple


def _simpleitk(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images = [sitk.GetImageFromArray(reader.view(np.uint8)) for reader in masks]
    filt = sitk.STAPLEImageFilter()
    probability = sitk.GetArrayFromImage(filt.Execute(images))
    return probability, np.array(filt.GetSensitivity()), np.array(filt.GetSpecificity())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 3 x 8 x 128²")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs; the best counts")
    args = parser.parse_args()
    readers, cases, size = (3, 8, 128) if args.quick else (3, 200, 512)
    repeat = args.repeat or (1 if args.quick else 2)
    masks = reader_masks(readers, cases, size, seed=1)
    input_bytes = masks.nbytes

    ours: list[StapleResult] = []
    reference: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    ours_s = best_seconds(lambda: ours.append(staple(masks)), repeat)
    sitk_s = best_seconds(lambda: reference.append(_simpleitk(masks)), repeat)
    result, (probability, sensitivity, specificity) = ours[-1], reference[-1]
    peak = traced_peak_bytes(lambda: staple(masks))

    diff = {
        "probability": float(np.abs(result.probability - probability).max()),
        "sensitivity": float(np.abs(result.sensitivity - sensitivity).max()),
        "specificity": float(np.abs(result.specificity - specificity).max()),
    }
    ratio = sitk_s / ours_s
    print_table(
        f"binary STAPLE, {readers} readers x {cases} masks of {size}² "
        f"({input_bytes / 2**20:.0f} MiB)",
        ["implementation", "seconds", "EM rounds"],
        [["ours", f"{ours_s:.3f}", result.iterations], ["SimpleITK", f"{sitk_s:.3f}", "-"]],
    )
    for name, value in diff.items():
        print(f"max |ours - SimpleITK| {name}: {value:.2e} (target <= 1e-3)")
    print(f"ours peak extra memory: {peak / 2**20:.0f} MiB = {peak / input_bytes:.2f}x the input")
    print(f"ratio staple_vs_simpleitk: {ratio:.2f}x (higher is better; target >= 1)")
    emit(
        {
            "benchmark": "staple",
            "quick": args.quick,
            "readers": readers,
            "cases": cases,
            "size": size,
            "input_mib": round(input_bytes / 2**20, 1),
            "ours_s": round(ours_s, 4),
            "simpleitk_s": round(sitk_s, 4),
            "max_abs_diff": {k: float(f"{v:.3g}") for k, v in diff.items()},
            "ours_peak_mib": round(peak / 2**20, 1),
            "ours_peak_vs_input": round(peak / input_bytes, 3),
            "ratios": {"staple_vs_simpleitk": round(ratio, 3)},
            "targets_met": {
                "speed": ratio >= 1.0,
                "agreement_1e-3": max(diff.values()) <= 1e-3,
                "memory_3x": peak <= 3 * input_bytes,
            },
        }
    )


if __name__ == "__main__":
    main()
