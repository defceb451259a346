"""Synthetic CT and MR DICOM series with known ground truth.

A :class:`PhantomSpec` says what to build (modality, matrix, slices, seed,
site style, lesions); :func:`generate_series` returns a :class:`PhantomSeries`
that renders each slice lazily as a valid CT or MR Image Storage instance
(explicit VR little endian, consistent axial geometry) and gives the
ground-truth label volume, the lesions, the identifiers and the canary values
planted in its headers for privacy tests. The same spec always gives the same
bytes; a different seed or site gives different UIDs and canaries.

Example
-------
>>> from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series, write_series
>>> spec = PhantomSpec(modality="CT", rows=512, columns=512, slices=300, seed=0,
...                    style=SITE_STYLES["siemens-like"])
>>> series = generate_series(spec)
>>> paths = write_series(series, "/tmp/phantom")  # doctest: +SKIP
"""

from shared.phantoms.anatomy import Tissue
from shared.phantoms.canaries import CANARY_FIELDS, CANARY_PREFIX, Canaries
from shared.phantoms.files import dataset_to_bytes, series_file_name, write_series
from shared.phantoms.geometry import VolumeGeometry
from shared.phantoms.headers import CANARY_PRIVATE_CREATOR, CANARY_PRIVATE_GROUP
from shared.phantoms.lesions import Lesion, LesionKind, default_lesions
from shared.phantoms.render import CT_RESCALE_INTERCEPT
from shared.phantoms.series import PhantomSeries, generate_series, generate_study
from shared.phantoms.spec import Modality, PhantomSpec
from shared.phantoms.styles import SITE_STYLES, SiteStyle

__all__ = [
    "CANARY_FIELDS",
    "CANARY_PREFIX",
    "CANARY_PRIVATE_CREATOR",
    "CANARY_PRIVATE_GROUP",
    "CT_RESCALE_INTERCEPT",
    "SITE_STYLES",
    "Canaries",
    "Lesion",
    "LesionKind",
    "Modality",
    "PhantomSeries",
    "PhantomSpec",
    "SiteStyle",
    "Tissue",
    "VolumeGeometry",
    "dataset_to_bytes",
    "default_lesions",
    "generate_series",
    "generate_study",
    "series_file_name",
    "write_series",
]
