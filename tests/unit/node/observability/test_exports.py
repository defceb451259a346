"""node.observability's public API."""

from __future__ import annotations

import node.observability as observability


def test_exports_are_sorted_and_importable() -> None:
    assert observability.__all__ == sorted(
        observability.__all__, key=lambda n: (not n.isupper(), n)
    )
    for name in observability.__all__:
        assert getattr(observability, name) is not None
