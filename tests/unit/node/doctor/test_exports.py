"""node.doctor's public API."""

from __future__ import annotations

import node.doctor as doctor


def test_exports_are_sorted_and_importable() -> None:
    assert doctor.__all__ == sorted(doctor.__all__, key=lambda n: (not n.isupper(), n))
    for name in doctor.__all__:
        assert getattr(doctor, name) is not None
