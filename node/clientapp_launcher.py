"""Flower's ``flwr-clientapp``, started without the SuperNode's imports.

Flower starts one ``flwr-clientapp`` process per message. Its console script
(``from flwr.supernode.cli import flwr_clientapp``) runs the
``flwr.supernode.cli`` package's ``__init__``, which imports
``flower_supernode`` — the whole SuperNode: SQLAlchemy, Alembic, FastAPI,
uvicorn — although the ClientApp process uses none of it (1.6 s of CPU at
start, 0.9 s without it, measured here). :func:`main` loads Flower's own
``flwr/supernode/cli/flwr_clientapp.py`` from its file, under a private module
name, so that ``__init__`` does not run, and calls its ``flwr_clientapp()``:
the same arguments, the same code, the same exit statuses.

The SuperNode launcher (:mod:`node.supernode_launcher`) writes a
``flwr-clientapp`` command that runs this and puts it first on the SuperExec's
``PATH``; it has checked the Flower version first.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["flower_clientapp_module", "main"]

_MODULE_NAME = "_harmonia_flwr_clientapp"


def flower_clientapp_module() -> ModuleType:
    """Flower's ``flwr_clientapp`` module, loaded from its file (not through its package)."""
    loaded = sys.modules.get(_MODULE_NAME)
    if loaded is not None:
        return loaded
    import flwr.supernode  # its __init__ is a docstring only

    path = Path(flwr.supernode.__file__).parent / "cli" / "flwr_clientapp.py"
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load Flower's flwr-clientapp from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    """Run Flower's ``flwr_clientapp()`` (it exits the process itself)."""
    sys.argv[0] = "flwr-clientapp"
    flower_clientapp_module().flwr_clientapp()
    return 0
