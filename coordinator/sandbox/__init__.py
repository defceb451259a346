"""The sandbox: a coordinator and several nodes on 127.0.0.1, walking Harmonia's whole loop.

``harmonia-coordinator sandbox`` starts every service as a separate process
with its own data directory, enrolls the nodes for real, sends phantoms over
STOW-RS and C-STORE, lets simulated readers annotate, runs statistics rounds,
a guideline revision with re-annotation, DP training and AI drafts, then
prints where to look. See ``docs/sandbox.md``.
"""

from coordinator.sandbox.admin_api import CoordinatorAdmin, NodeAdmin
from coordinator.sandbox.errors import CommandFailedError, SandboxError, StepFailedError
from coordinator.sandbox.figures import Figures, model_dice
from coordinator.sandbox.layout import CoordinatorPorts, Layout, NodePorts
from coordinator.sandbox.loop import STEPS, Sandbox, SandboxOptions
from coordinator.sandbox.processes import (
    Service,
    child_environment,
    free_port,
    run_command,
    stop_process,
    wait_healthy,
)
from coordinator.sandbox.session import run_sandbox, summary_lines
from coordinator.sandbox.side_by_side import for_each_site

__all__ = [
    "STEPS",
    "CommandFailedError",
    "CoordinatorAdmin",
    "CoordinatorPorts",
    "Figures",
    "Layout",
    "NodeAdmin",
    "NodePorts",
    "Sandbox",
    "SandboxError",
    "SandboxOptions",
    "Service",
    "StepFailedError",
    "child_environment",
    "for_each_site",
    "free_port",
    "model_dice",
    "run_command",
    "run_sandbox",
    "stop_process",
    "summary_lines",
    "wait_healthy",
]
