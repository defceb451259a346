import importlib
import subprocess
import sys

import pytest

PACKAGES = ["node.stats", "node.clientapp", "coordinator.rounds", "coordinator.serverapp"]


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


@pytest.mark.parametrize("name", PACKAGES)
def test_public_api_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__, key=_isort_key)
    for member in module.__all__:
        assert hasattr(module, member), member


def test_the_clientapp_never_imports_torch() -> None:
    probe = "import sys, node.clientapp; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
