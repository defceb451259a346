import importlib

import pytest

PACKAGES = [
    "coordinator",
    "coordinator.api",
    "coordinator.auth",
    "coordinator.consortium",
    "coordinator.guidelines",
    "coordinator.models",
    "coordinator.rounds",
    "coordinator.sandbox",
    "coordinator.store",
    "coordinator.training",
    "node.consortium",
]


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


@pytest.mark.parametrize("name", PACKAGES)
def test_public_api_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=_isort_key)
    for member in exported:
        assert hasattr(module, member), member


def test_domain_packages_do_not_import_fastapi() -> None:
    from pathlib import Path

    root = Path(__file__).parents[3]
    for folder in [
        "coordinator/consortium",
        "coordinator/guidelines",
        "coordinator/models",
        "coordinator/auth",
        "coordinator/rounds",
        "coordinator/store",
        "coordinator/training",
        "node/consortium",
    ]:
        for source in (root / folder).rglob("*.py"):
            assert "fastapi" not in source.read_text(), source
