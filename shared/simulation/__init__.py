"""Simulated readers: realistic disagreement from phantom ground truth.

A :class:`ReaderProfile` (a reader, a seed, :class:`ReaderHabits`) reads a
:class:`CaseTruth` (a phantom's lesion volume and true categories) under a
guideline version; :func:`simulate_annotations` returns the annotation
payloads it would save (masks as RLE, boxes, polygons, keypoints, lengths,
classifications). Habits: over- or under-segmentation in mm, boundary noise,
missed lesions, category confusion matrices, and ``clarified_in`` — the
guideline version whose clarified rule the reader follows from then on.
Deterministic: the same profile, case and guideline give the same payloads.

Example
-------
>>> from shared.phantoms import PhantomSpec, generate_series
>>> from shared.simulation import CaseTruth, ReaderHabits, ReaderProfile
>>> case = CaseTruth.from_phantom(generate_series(PhantomSpec(slices=16)))
>>> sloppy = ReaderProfile("r1", seed=1, habits=[ReaderHabits(dilation_mm=2.0)])
"""

from shared.simulation.cases import CaseTruth
from shared.simulation.errors import SimulationError
from shared.simulation.habits import ReaderHabits, ReaderProfile, version_key
from shared.simulation.reader import draw_lesion, simulate_annotations, simulate_readers

__all__ = [
    "CaseTruth",
    "ReaderHabits",
    "ReaderProfile",
    "SimulationError",
    "draw_lesion",
    "simulate_annotations",
    "simulate_readers",
    "version_key",
]
