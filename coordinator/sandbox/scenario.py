"""What the sandbox's synthetic consortium holds: guideline, sites, readers, training plan.

One guideline, ``sandbox-lesions``, with a mask label ``lesion`` whose
boundary rule is ambiguous in version 1.0 ("include the rim where it is
visible") and clarified in 1.1 ("the enhancing edge only; exclude the rim"),
and a classification ``grade`` every reader reads alike. Each site sees its
scanner's style of phantom; one reader per site draws the rim
(:class:`~shared.simulation.ReaderHabits` ``dilation_mm`` with
``clarified_in="1.1"``), so ``lesion`` falls below its agreement target
until the revision, after which that reader follows the clarified rule.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from shared.phantoms import SITE_STYLES, PhantomSpec, SiteStyle
from shared.simulation import ReaderHabits, ReaderProfile

__all__ = [
    "DRAFTS_PROJECT",
    "FIRST_VERSION",
    "GRADES",
    "GUIDELINE_NAME",
    "LABEL",
    "PROJECT",
    "READERS",
    "REVIEWER",
    "REVISED_VERSION",
    "SiteScenario",
    "guideline_document",
    "reader_profiles",
    "site_scenarios",
    "training_plan",
]

GUIDELINE_NAME = "sandbox-lesions"
FIRST_VERSION = "1.0"
REVISED_VERSION = "1.1"
PROJECT = "sandbox-lesions"
DRAFTS_PROJECT = "sandbox-lesions-drafts"
LABEL = "lesion"
READERS = ("reader1", "reader2", "reader3")
REVIEWER = "reviewer"
GRADES = ("1", "2", "3")
_STYLES = ("siemens-like", "ge-like", "philips-like", "reference")

_GUIDELINE: dict[str, Any] = {
    "name": GUIDELINE_NAME,
    "version": FIRST_VERSION,
    "title": "Sandbox focal lesions",
    "readers_per_task": len(READERS),
    "labels": [
        {
            "name": LABEL,
            "kind": "mask",
            "definition": "every focal lesion, its whole extent",
            "boundary_rules": "include the rim around the lesion where it is visible",
            "agreement_target": 0.85,
            "adjudication_threshold": 0.05,
        },
        {
            "name": "grade",
            "kind": "classification",
            "definition": "the largest lesion's grade",
            "agreement_target": 0.6,
            "categories": [{"code": c, "meaning": f"grade {c}"} for c in GRADES],
        },
    ],
}


def guideline_document(version: str = FIRST_VERSION) -> dict[str, Any]:
    """The guideline at ``version``: 1.0 (ambiguous rim rule) or 1.1 (clarified)."""
    document = copy.deepcopy(_GUIDELINE)
    document["version"] = version
    if version != FIRST_VERSION:
        document["labels"][0]["boundary_rules"] = (
            "the lesion's own edge only: exclude the rim or halo around it"
        )
    return document


def training_plan(name: str = GUIDELINE_NAME) -> dict[str, Any]:
    """A tiny U-Net plan with DP-SGD: a few minutes on two cores."""
    return {
        "name": name,
        "task": "segmentation",
        "labels": [LABEL],
        "model": {"features": [4, 8], "groups": 4},
        "input": {"size": 32},
        "batch_size": 8,
        "learning_rate": 0.01,
        "update_clip_norm": 10.0,
        "privacy": {"noise_multiplier": 1.0, "max_grad_norm": 1.0, "delta": 1e-5},
    }


def reader_profiles(site_index: int) -> dict[str, ReaderProfile]:
    """The site's three readers: one draws the rim (until 1.1), one wobbles (3 mm)."""
    seed = 10 * site_index
    rim = ReaderHabits(dilation_mm=6.0, labels=frozenset({LABEL}), clarified_in=REVISED_VERSION)
    return {
        READERS[0]: ReaderProfile(READERS[0], seed=seed + 1, habits=[rim]),
        READERS[1]: ReaderProfile(
            READERS[1], seed=seed + 2, habits=[ReaderHabits(boundary_noise_mm=3.0)]
        ),
        READERS[2]: ReaderProfile(READERS[2], seed=seed + 3),
    }


@dataclass(frozen=True)
class SiteScenario:
    """One sandbox site: its name, scanner style and phantom cases."""

    name: str
    index: int
    style: SiteStyle
    cases: int
    slices: int = 12
    rows: int = 64

    def case_spec(self, case: int) -> PhantomSpec:
        """Case ``case``'s phantom (its series number identifies it after de-identification)."""
        return PhantomSpec(
            modality="CT",
            rows=self.rows,
            columns=self.rows,
            slices=self.slices,
            seed=1000 * (self.index + 1) + case,
            style=self.style,
            site=self.name,
            series_number=case + 1,
            pixel_spacing_mm=5.0,
            slice_thickness_mm=4.0,
        )

    def grade(self, case: int) -> str:
        """The true grade of a case."""
        return GRADES[(case + self.index) % len(GRADES)]


def site_scenarios(count: int, cases: int) -> list[SiteScenario]:
    """``count`` sites named site-a, site-b, ... each with its own scanner style."""
    if not 1 <= count <= 26:
        raise ValueError(f"the sandbox runs 1 to 26 sites, not {count}")
    return [
        SiteScenario(
            name=f"site-{chr(ord('a') + i)}",
            index=i,
            style=SITE_STYLES[_STYLES[i % len(_STYLES)]],
            cases=cases,
        )
        for i in range(count)
    ]
