from __future__ import annotations

import re

from shared.phantoms import (
    SITE_STYLES,
    PhantomSpec,
    dataset_to_bytes,
    generate_series,
    generate_study,
)

UID = re.compile(r"^2\.25\.[1-9][0-9]*$")


def _spec(**overrides: object) -> PhantomSpec:
    values: dict[str, object] = {
        "modality": "CT",
        "rows": 64,
        "columns": 64,
        "slices": 4,
        "seed": 11,
        "style": SITE_STYLES["ge-like"],
    }
    return PhantomSpec(**(values | overrides))  # type: ignore[arg-type]


def _all_bytes(spec: PhantomSpec) -> list[bytes]:
    return [dataset_to_bytes(ds) for ds in generate_series(spec).datasets()]


def test_same_seed_gives_identical_bytes() -> None:
    assert _all_bytes(_spec()) == _all_bytes(_spec())
    assert _all_bytes(_spec(modality="MR")) == _all_bytes(_spec(modality="MR"))


def test_slices_render_the_same_in_any_order() -> None:
    series = generate_series(_spec())
    last_first = dataset_to_bytes(series.dataset(3))
    in_order = [dataset_to_bytes(ds) for ds in series.datasets()]
    assert in_order[3] == last_first


def test_uids_are_valid_and_unique() -> None:
    series = generate_series(_spec())
    uids = [
        series.study_instance_uid,
        series.series_instance_uid,
        series.frame_of_reference_uid,
        *series.sop_instance_uids,
    ]
    assert len(set(uids)) == len(uids)
    for uid in uids:
        assert UID.match(uid), uid
        assert len(uid) <= 64


def test_different_site_gives_different_uids_and_canaries() -> None:
    a = generate_series(_spec())
    b = generate_series(_spec(site="hospital-b"))
    assert a.study_instance_uid != b.study_instance_uid
    assert a.series_instance_uid != b.series_instance_uid
    assert not set(a.sop_instance_uids) & set(b.sop_instance_uids)
    assert a.patient_id != b.patient_id
    assert not set(a.canaries) & set(b.canaries)


def test_different_seed_gives_different_uids_and_noise() -> None:
    a = generate_series(_spec())
    b = generate_series(_spec(seed=12))
    assert a.study_instance_uid != b.study_instance_uid
    assert (a.pixel_slice(0) != b.pixel_slice(0)).any()


def test_series_of_one_study_share_patient_and_study() -> None:
    ct, mr = generate_study(_spec(), _spec(modality="MR", series_number=2))
    assert ct.study_instance_uid == mr.study_instance_uid
    assert ct.patient_id == mr.patient_id
    assert ct.canaries == mr.canaries
    assert ct.series_instance_uid != mr.series_instance_uid
    assert ct.frame_of_reference_uid != mr.frame_of_reference_uid
    first_ct, first_mr = next(ct.datasets()), next(mr.datasets())
    assert first_ct.StudyDate == first_mr.StudyDate
    assert first_mr.SeriesNumber == 2
