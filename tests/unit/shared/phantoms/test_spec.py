from __future__ import annotations

import dataclasses

import pytest

from shared.errors import InvalidInputError, PhantomSpecError
from shared.phantoms import (
    SITE_STYLES,
    Lesion,
    LesionKind,
    Modality,
    PhantomSpec,
    SiteStyle,
    generate_study,
)


def test_defaults_resolve_from_the_style() -> None:
    style = SITE_STYLES["philips-like"]
    spec = PhantomSpec(modality="MR", rows=64, columns=80, slices=5, style=style)
    assert spec.modality is Modality.MR
    assert spec.site == "philips-like"
    assert spec.pixel_spacing_mm == style.pixel_spacing_mm
    assert spec.slice_thickness_mm == style.slice_thickness_mm
    assert spec.slice_spacing_mm == style.slice_thickness_mm
    assert len(spec.lesions) == 3
    assert [lesion.label for lesion in spec.lesions] == [1, 2, 3]


def test_spec_is_frozen_and_comparable() -> None:
    a = PhantomSpec(rows=64, columns=64, slices=4)
    b = PhantomSpec(rows=64, columns=64, slices=4)
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.rows = 128  # type: ignore[misc]


def test_error_is_an_invalid_input_and_a_value_error() -> None:
    with pytest.raises(InvalidInputError):
        PhantomSpec(rows=10)
    with pytest.raises(ValueError):
        PhantomSpec(rows=10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rows": 63}, r"rows=63 is outside 64\.\.1024"),
        ({"rows": 1025}, r"rows=1025 is outside 64\.\.1024"),
        ({"columns": 2048}, r"columns=2048"),
        ({"rows": True}, r"rows must be an int"),
        ({"slices": 0}, r"slices=0 is outside 1\.\."),
        ({"modality": "PET"}, r"unknown modality 'PET'.*'CT' or 'MR'"),
        ({"seed": -1}, r"seed=-1"),
        ({"series_number": 0}, r"series_number=0"),
        ({"pixel_spacing_mm": 0.0}, r"pixel_spacing_mm must be a finite number of mm > 0"),
        ({"slice_thickness_mm": float("nan")}, r"slice_thickness_mm"),
        ({"site": ""}, r"site '' must be 1\.\.64 characters"),
        ({"style": "siemens-like"}, r"style must be a SiteStyle.*siemens-like"),
    ],
)
def test_invalid_specs_are_refused_with_a_reason(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"rows": 64, "columns": 64, "slices": 4}
    with pytest.raises(PhantomSpecError, match=match):
        PhantomSpec(**(base | kwargs))  # type: ignore[arg-type]


def test_lesion_outside_the_volume_is_refused() -> None:
    lesion = Lesion.sphere((0.0, 0.0, 500.0), 5.0, label=1)
    with pytest.raises(PhantomSpecError, match=r"lesion 1 centre z=500 mm lies outside"):
        PhantomSpec(rows=64, columns=64, slices=10, lesions=[lesion])


def test_lesion_smaller_than_a_voxel_is_refused() -> None:
    lesion = Lesion((0.0, 0.0, 0.0), (5.0, 5.0, 0.5), label=4)
    with pytest.raises(PhantomSpecError, match=r"radius along z is 0.5 mm, below the voxel"):
        PhantomSpec(rows=64, columns=64, slices=10, lesions=[lesion])


def test_duplicate_lesion_labels_are_refused() -> None:
    lesions = [Lesion.sphere((0.0, 0.0, 0.0), 3.0, label=2)] * 2
    with pytest.raises(PhantomSpecError, match=r"label 2 is used twice"):
        PhantomSpec(rows=64, columns=64, slices=10, lesions=lesions)


def test_no_lesions_is_allowed() -> None:
    assert PhantomSpec(rows=64, columns=64, slices=2, lesions=[]).lesions == ()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label": 0}, r"use 1\.\.255"),
        ({"label": 256}, r"use 1\.\.255"),
        ({"radii_mm": (1.0, 0.0, 1.0)}, r"must all be > 0"),
        ({"center_mm": (1.0, 2.0)}, r"three numbers"),
        ({"kind": "tumour"}, r"unknown kind 'tumour'.*solid, cyst, calcified"),
    ],
)
def test_invalid_lesions_are_refused(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"center_mm": (0.0, 0.0, 0.0), "radii_mm": (2.0, 2.0, 2.0)}
    base["label"] = 1
    with pytest.raises(PhantomSpecError, match=match):
        Lesion(**(base | kwargs))  # type: ignore[arg-type]


def test_lesion_kind_is_converted_from_its_value() -> None:
    lesion = Lesion((0, 0, 0), (2, 2, 2), label=1, kind="cyst")  # type: ignore[arg-type]
    assert lesion.kind is LesionKind.CYST
    assert lesion.center_mm == (0.0, 0.0, 0.0)


def test_style_validation() -> None:
    good = SITE_STYLES["reference"]
    with pytest.raises(PhantomSpecError, match=r"private_group 0x0010 is not a private group"):
        dataclasses.replace(good, private_group=0x0010)
    with pytest.raises(PhantomSpecError, match=r"noise_sigma must be >= 0.0"):
        dataclasses.replace(good, noise_sigma=-1.0)
    with pytest.raises(PhantomSpecError, match=r"bias_field must be in \[0, 1\)"):
        dataclasses.replace(good, bias_field=1.5)
    assert isinstance(dataclasses.replace(good, name="mine"), SiteStyle)


def test_generate_study_checks_its_specs() -> None:
    a = PhantomSpec(rows=64, columns=64, slices=2, seed=1)
    with pytest.raises(PhantomSpecError, match=r"series_number 1 appears twice"):
        generate_study(a, a)
    with pytest.raises(PhantomSpecError, match=r"must share seed and site"):
        generate_study(a, PhantomSpec(rows=64, columns=64, slices=2, seed=2, series_number=2))
    with pytest.raises(PhantomSpecError, match=r"at least one"):
        generate_study()
