"""A project's per-label agreement sufficient statistics, as the egress gate's payload.

The statistics are the quality dashboard's own (:func:`node.quality.pool_label`
over the stored per-task pair figures, every guideline version together), so
a federated round adds exactly what the local dashboard adds:

============== ============================== =====================================
label kind     statistics released            pooled figure at the coordinator
============== ============================== =====================================
classification ``confusion`` (reader pairs),  Cohen's kappa, percent agreement;
               ``coincidence`` (per task)     Krippendorff's alpha
mask           ``overlap``                    pooled Dice
box, polygon,  ``detection``                  pooled F1
keypoint,
length
============== ============================== =====================================

Reader names never leave: the statistics hold category codes and counts only.
"""

from __future__ import annotations

from typing import Any

from node.quality import ProjectData, pool_label

__all__ = ["agreement_payload"]


def agreement_payload(data: ProjectData) -> dict[str, Any]:
    """``{"guideline": {name, version}, "statistics": [{label, statistic, arrays}]}``.

    Labels without any comparable pair figure are left out.
    """
    entries: list[dict[str, Any]] = []
    for label in data.guideline.labels:
        pool = pool_label(label, (p for p in data.pairs if p.label == label.name))
        for statistic, stats in (
            ("confusion", pool.confusion),
            ("coincidence", pool.coincidence),
            ("overlap", pool.overlap),
            ("detection", pool.detection),
        ):
            if stats is not None:
                entries.append(
                    {"label": label.name, "statistic": statistic, "arrays": stats.to_arrays()}
                )
    return {
        "guideline": {"name": data.guideline.name, "version": data.guideline.version},
        "statistics": entries,
    }
