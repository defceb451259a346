import coordinator.harmonize
from tests.unit.coordinator.test_exports import _isort_key


def test_public_api_is_sorted_and_importable() -> None:
    exported = coordinator.harmonize.__all__
    assert exported == sorted(exported, key=_isort_key)
    for member in exported:
        assert hasattr(coordinator.harmonize, member), member
    assert coordinator.harmonize.__doc__


def test_migration_creates_the_harmonization_tables(coordinator) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import inspect

    tables = set(inspect(coordinator.engine).get_table_names())
    assert {
        "calibration_sets",
        "calibration_uploads",
        "calibration_annotations",
        "round_results",
    } <= tables
