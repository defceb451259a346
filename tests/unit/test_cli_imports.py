"""Both command lines build their parser without importing the service stack.

Each ``harmonia-node`` / ``harmonia-coordinator`` call is a fresh process: a
command module imports its implementation inside its handlers, so ``--help``
(and argparse's usage errors) import only argparse and the exit codes, and a
command imports only what it uses. Run in a subprocess to see a fresh
``sys.modules``. The choices the parsers now spell out (instead of importing
the domain's enums) must stay the enums' values.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from coordinator.auth import Role as CoordinatorRole
from coordinator.commands import rounds
from coordinator.commands import token as coordinator_token
from coordinator.serverapp.training_aggregation import Aggregation
from node.auth import Role, Scope
from node.commands import egress, export, token, user
from node.egress import LedgerFormat
from node.export import ExportFormat
from shared.schemas.training import Compression

HEAVY = (
    "alembic",
    "fastapi",
    "flwr",
    "numpy",
    "pydantic_settings",
    "pydicom",
    "scipy",
    "sqlalchemy",
    "torch",
    "uvicorn",
    "coordinator.runtime",
    "node.runtime",
)


def _imported_after(program: str, argv: list[str]) -> tuple[int, list[str]]:
    """Run ``program.cli.main(argv)`` in a fresh interpreter: exit code, heavy modules loaded."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from {program}.cli import main
        try:
            code = main({argv!r})
        except SystemExit as exc:
            code = exc.code
        heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
        print(json.dumps([code, heavy]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    code, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    return int(code or 0), list(heavy)


@pytest.mark.parametrize(
    ("program", "argv"),
    [
        ("node", ["--help"]),
        ("node", ["enroll", "--help"]),
        ("node", ["assist", "run", "--help"]),
        ("node", ["serve", "--help"]),
        ("coordinator", ["--help"]),
        ("coordinator", ["site", "add", "--help"]),
        ("coordinator", ["round", "train", "--help"]),
        ("coordinator", ["serve", "--help"]),
    ],
)
def test_help_imports_no_heavy_package(program: str, argv: list[str]) -> None:
    code, heavy = _imported_after(program, argv)
    assert code == 0
    assert heavy == [], f"{program}.cli {' '.join(argv)} imported {heavy}"


def test_a_usage_error_imports_no_heavy_package() -> None:
    code, heavy = _imported_after("node", ["enroll", "--data-dir", "x"])
    assert code == 2  # argparse: --coordinator and --token are required
    assert heavy == []


def test_spelled_out_choices_are_the_domain_enums() -> None:
    assert list(egress.FORMATS) == [f.value for f in LedgerFormat]
    assert list(export.FORMATS) == [f.value for f in ExportFormat]
    assert list(token.SCOPES) == [s.value for s in Scope]
    assert list(user.ROLES) == [r.value for r in Role]
    assert list(coordinator_token.ROLES) == [r.value for r in CoordinatorRole]
    assert list(rounds.AGGREGATIONS) == [a.value for a in Aggregation]
    assert rounds.AGGREGATIONS[0] == Aggregation.FEDAVG
    assert list(rounds.COMPRESSIONS) == [c.value for c in Compression]


def test_the_coordinator_package_exports_load_on_first_use() -> None:
    import coordinator
    from coordinator.runtime import CoordinatorRuntime, open_coordinator
    from coordinator.settings import CoordinatorSettings, DeploymentProfile

    assert coordinator.__all__ == sorted(coordinator.__all__)
    assert coordinator.open_coordinator is open_coordinator
    assert coordinator.CoordinatorRuntime is CoordinatorRuntime
    assert coordinator.CoordinatorSettings is CoordinatorSettings
    assert coordinator.DeploymentProfile is DeploymentProfile
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = coordinator.nothing_here
