"""Opacus's RDP analysis (``opacus.accountants.analysis.rdp``), loaded without torch.

Importing ``opacus`` imports torch (seconds, and the ClientApp must stay
torch-free), but its RDP analysis module needs only NumPy and SciPy. This
loads that very file of the installed ``opacus==1.6.0`` by its location,
without executing the package's ``__init__``; the orders are Opacus's
``RDPAccountant.DEFAULT_ALPHAS``. Tests check both against ``opacus`` itself.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import PathFinder
from types import ModuleType

__all__ = ["DEFAULT_ALPHAS", "opacus_rdp"]

_NAME = "opacus.accountants.analysis.rdp"

DEFAULT_ALPHAS: tuple[float, ...] = tuple(
    [1 + x / 10.0 for x in range(1, 100)] + [float(a) for a in range(12, 64)]
)
"""``opacus.accountants.RDPAccountant.DEFAULT_ALPHAS``."""


def _load() -> ModuleType:
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    package = PathFinder.find_spec("opacus")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("opacus is not installed (pip install 'harmonia[learn]')")
    root = next(iter(package.submodule_search_locations))
    spec = importlib.util.spec_from_file_location(
        "harmonia_opacus_rdp", f"{root}/accountants/analysis/rdp.py"
    )
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("opacus's accountants/analysis/rdp.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


opacus_rdp = _load()
