"""Overlap and surface agreement between readers: ours against MONAI's metrics.

Three readers' masks of 200 cases of 512x512 (pixel spacing 0.7 x 0.8 mm). For every
reader pair and case:

* Dice and IoU: ours (``dice`` and ``iou`` called per case) against MONAI's
  ``DiceMetric`` and ``MeanIoU`` on one ``(cases, 1, 512, 512)`` float tensor per
  reader, converted before timing (MONAI's natural input, its fastest path);
* HD95 in mm: ours (``hausdorff(..., percentile=95)`` per case) against MONAI's
  ``HausdorffDistanceMetric(percentile=95)`` on the same tensors.

The largest difference from MONAI is printed for each metric. MONAI runs with
torch's default number of threads (``--torch-threads`` sets it; ours is one thread).
Ours' peak memory (tracemalloc, separate untimed runs) is reported against the input
size.
Targets: Dice and IoU >= 5x MONAI, HD95 >= 1x MONAI, peak memory <= 3x the input.
Run: ``python benchmarks/agreement_overlap.py [--quick]``.
"""

from __future__ import annotations

import argparse
import itertools
import warnings

import numpy as np
import torch
from _harness import best_seconds, emit, print_table, traced_peak_bytes
from _reader_data import reader_masks
from monai.metrics import DiceMetric, HausdorffDistanceMetric, MeanIoU

from shared.agreement import dice, hausdorff, iou

SPACING = (0.7, 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 3 x 8 x 128²")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs; the best counts")
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch's intra-op threads for MONAI"
    )
    args = parser.parse_args()
    if args.torch_threads:  # on a busy machine, torch's default can oversubscribe the cores
        torch.set_num_threads(args.torch_threads)
    warnings.simplefilter("ignore", FutureWarning)  # MONAI's own deprecation notices
    readers, cases, size = (3, 8, 128) if args.quick else (3, 200, 512)
    repeat = args.repeat or (2 if args.quick else 3)  # the first run also warms up
    masks = reader_masks(readers, cases, size, seed=0)
    input_bytes = masks.nbytes
    pairs = list(itertools.combinations(range(readers), 2))
    tensors = [torch.from_numpy(masks[r][:, None].astype(np.float32)) for r in range(readers)]

    def ours_overlap() -> np.ndarray:
        return np.array(
            [
                [
                    (dice(masks[a, c], masks[b, c]), iou(masks[a, c], masks[b, c]))
                    for c in range(cases)
                ]
                for a, b in pairs
            ]
        )

    def monai_overlap() -> np.ndarray:
        dice_metric = DiceMetric(include_background=True, reduction="none")
        iou_metric = MeanIoU(include_background=True, reduction="none")
        return np.array(
            [
                np.stack(
                    [
                        dice_metric(tensors[a], tensors[b]).numpy().ravel(),
                        iou_metric(tensors[a], tensors[b]).numpy().ravel(),
                    ],
                    axis=1,
                )
                for a, b in pairs
            ]
        )

    def ours_hd95() -> np.ndarray:
        return np.array(
            [
                [hausdorff(masks[a, c], masks[b, c], SPACING, 95) for c in range(cases)]
                for a, b in pairs
            ]
        )

    def monai_hd95() -> np.ndarray:
        metric = HausdorffDistanceMetric(include_background=True, percentile=95, reduction="none")
        return np.array(
            [
                metric(tensors[a], tensors[b], spacing=list(SPACING)).numpy().ravel()
                for a, b in pairs
            ]
        )

    results: dict[str, list[np.ndarray]] = {
        k: [] for k in ("ours_o", "monai_o", "ours_h", "monai_h")
    }
    seconds = {
        "ours_dice_iou_s": best_seconds(lambda: results["ours_o"].append(ours_overlap()), repeat),
        "monai_dice_iou_s": best_seconds(
            lambda: results["monai_o"].append(monai_overlap()), repeat
        ),
        "ours_hd95_s": best_seconds(lambda: results["ours_h"].append(ours_hd95()), repeat),
        "monai_hd95_s": best_seconds(lambda: results["monai_h"].append(monai_hd95()), repeat),
    }
    overlap_diff = np.abs(results["ours_o"][-1] - results["monai_o"][-1]).max(axis=(0, 1))
    hd95_diff = float(np.abs(results["ours_h"][-1] - results["monai_h"][-1]).max())
    diffs = {"dice": float(overlap_diff[0]), "iou": float(overlap_diff[1]), "hd95_mm": hd95_diff}
    peak = max(traced_peak_bytes(ours_overlap), traced_peak_bytes(ours_hd95))
    ratios = {
        "dice_iou_vs_monai": seconds["monai_dice_iou_s"] / seconds["ours_dice_iou_s"],
        "hd95_vs_monai": seconds["monai_hd95_s"] / seconds["ours_hd95_s"],
    }

    n = len(pairs) * cases
    print_table(
        f"{readers} readers x {cases} masks of {size}² ({input_bytes / 2**20:.0f} MiB), "
        f"{len(pairs)} reader pairs = {n} comparisons",
        ["metric", "ours s", "MONAI s", "ratio", "max |ours - MONAI|"],
        [
            ["Dice + IoU", f"{seconds['ours_dice_iou_s']:.3f}",
             f"{seconds['monai_dice_iou_s']:.3f}", f"{ratios['dice_iou_vs_monai']:.2f}x",
             f"{max(diffs['dice'], diffs['iou']):.1e}"],
            ["HD95 (mm)", f"{seconds['ours_hd95_s']:.3f}", f"{seconds['monai_hd95_s']:.3f}",
             f"{ratios['hd95_vs_monai']:.2f}x", f"{diffs['hd95_mm']:.1e}"],
        ],
    )  # fmt: skip
    print(f"ours peak extra memory: {peak / 2**20:.1f} MiB = {peak / input_bytes:.3f}x the input")
    print(f"ratio dice_iou_vs_monai: {ratios['dice_iou_vs_monai']:.2f}x (target >= 5)")
    print(f"ratio hd95_vs_monai: {ratios['hd95_vs_monai']:.2f}x (target >= 1)")
    emit(
        {
            "benchmark": "agreement_overlap",
            "quick": args.quick,
            "readers": readers,
            "cases": cases,
            "size": size,
            "input_mib": round(input_bytes / 2**20, 1),
            **{k: round(v, 4) for k, v in seconds.items()},
            "max_abs_diff_vs_monai": {k: float(f"{v:.3g}") for k, v in diffs.items()},
            "ours_peak_mib": round(peak / 2**20, 2),
            "ours_peak_vs_input": round(peak / input_bytes, 4),
            "torch_threads": torch.get_num_threads(),
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "targets_met": {
                "dice_iou_5x": ratios["dice_iou_vs_monai"] >= 5.0,
                "hd95_1x": ratios["hd95_vs_monai"] >= 1.0,
                "memory_3x": peak <= 3 * input_bytes,
            },
        }
    )


if __name__ == "__main__":
    main()
