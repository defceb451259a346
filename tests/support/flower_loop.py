"""A private copy of flwr 1.41's SuperNode loop module, for tests that patch it.

The launcher and the rejoin wrap functions of ``flwr.supernode.start_client_internal``;
their tests patch a fresh copy loaded from the same file, so the real module
that other tests (and Flower) use stays untouched.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

__all__ = ["flower_loop_copy"]


def flower_loop_copy(name: str) -> ModuleType:
    """A fresh copy of ``flwr.supernode.start_client_internal``, loaded as module ``name``."""
    from flwr.supernode import start_client_internal

    spec = importlib.util.spec_from_file_location(name, start_client_internal.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
