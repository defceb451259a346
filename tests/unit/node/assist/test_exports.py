"""node.assist's public API: sorted, present, and free of torch and FastAPI."""

import subprocess
import sys

import node.assist as assist


def test_exports_are_sorted_and_present() -> None:
    assert assist.__all__ == sorted(assist.__all__)
    for name in assist.__all__:
        assert hasattr(assist, name), name


def test_importing_the_package_loads_neither_torch_nor_fastapi() -> None:
    code = "import sys, node.assist; print('torch' in sys.modules, 'fastapi' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
