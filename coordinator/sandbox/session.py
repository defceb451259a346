"""One sandbox session: run the loop, print what to open, stay up until interrupted.

:func:`run_sandbox` runs :class:`~coordinator.sandbox.loop.Sandbox`, prints
the URLs and logins of every UI and the headline figures
(:func:`summary_lines`), then either returns (``exit_after``) or waits for
SIGINT/SIGTERM; either way every process it started is stopped by PID.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TextIO

from coordinator.sandbox.errors import SandboxError, StepFailedError
from coordinator.sandbox.figures import Figures
from coordinator.sandbox.loop import Sandbox, SandboxOptions
from coordinator.sandbox.scenario import DRAFTS_PROJECT, LABEL, READERS, REVIEWER

__all__ = ["run_sandbox", "summary_lines"]


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def summary_lines(sandbox: Sandbox, figures: Figures) -> list[str]:
    """What to open and how to sign in, and the figures (passwords appear only here)."""
    layout = sandbox.layout
    lines = [
        "",
        "Harmonia sandbox is up.",
        f"  coordinator dashboard: {layout.coordinator_url}/ui/",
        f"    admin token: {sandbox.admin_token}",
    ]
    for site in layout.sites:
        ports = layout.node_ports[site]
        lines += [
            f"  {site} UI: {layout.node_url(site)}/ui/  (C-STORE SCP 127.0.0.1:{ports.dicom}, "
            "AE HARMONIA)",
            f"    users: admin, {REVIEWER}, {', '.join(READERS)}"
            f"  password: {sandbox.passwords[site]}",
        ]
    lines += [
        "Figures:",
        f"  flagged labels: {', '.join(figures.flagged_labels) or 'none'}",
        f"  {LABEL} agreement (pooled Dice) before revision: {_figure(figures.agreement_before)}",
        f"  {LABEL} agreement (pooled Dice) after revision:  {_figure(figures.agreement_after)}",
        f"  model Dice on public held-out phantoms: seed {_figure(figures.seed_dice)}, "
        f"{figures.model or 'n/a'} {_figure(figures.model_public_dice)}",
        f"  model {figures.model or 'n/a'} Dice: {_figure(figures.model_dice)} (the sites'"
        " DP-noised evaluation sums, pooled, clipped to [0, 1]; one validation case per site"
        " is too few to read it)",
        f"  AI drafts in project {DRAFTS_PROJECT}: "
        + (", ".join(f"{site} {n}" for site, n in figures.drafts.items()) or "none"),
        f"  data and logs: {layout.root}",
    ]
    return lines


class _StopRequestedError(Exception):
    """SIGTERM, turned into an exception like Ctrl-C's KeyboardInterrupt."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequestedError


def run_sandbox(options: SandboxOptions, out: TextIO, *, exit_after: bool) -> int:
    """Run the sandbox; 0 when every step worked, agreement rose and the model drafted, else 1."""
    sandbox = Sandbox(options, out)
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        try:
            figures = sandbox.run()
        except StepFailedError as error:
            print(f"FAILED at step '{error.step}': {error}", file=out)
            if error.log is not None:
                print(f"  log: {error.log}", file=out)
            print(f"  all logs: {sandbox.layout.root / 'logs'}", file=out)
            return 1
        except SandboxError as error:
            print(f"FAILED: {error}\n  logs: {sandbox.layout.root / 'logs'}", file=out)
            return 1
        for line in summary_lines(sandbox, figures):
            print(line, file=out)
        if not figures.agreement_rose:
            print(f"FAILED: {LABEL} agreement did not rise after the revision", file=out)
            return 1
        if not any(figures.drafts.values()):
            print("FAILED: the model drafted nothing on any node", file=out)
            return 1
        if exit_after:
            return 0
        print("Press Ctrl-C to stop every process.", file=out, flush=True)
        threading.Event().wait()
        return 0
    except (KeyboardInterrupt, _StopRequestedError):
        print("stopping ...", file=out, flush=True)
        return 0
    finally:
        sandbox.stop()
        signal.signal(signal.SIGTERM, previous)
        print(f"stopped {len(sandbox.services)} process(es)", file=out, flush=True)
