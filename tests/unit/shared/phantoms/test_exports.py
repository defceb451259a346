from __future__ import annotations

import shared.phantoms

EXPECTED = [
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


def test_public_api_is_exactly_the_documented_names() -> None:
    assert shared.phantoms.__all__ == EXPECTED
    for name in EXPECTED:
        assert hasattr(shared.phantoms, name), name


def test_package_has_a_docstring() -> None:
    assert shared.phantoms.__doc__
