"""Errors of the sandbox, under :class:`coordinator.errors.CoordinatorError`.

The tree::

    SandboxError               a step of the sandbox failed (the message names it)
    ├── CommandFailedError     a child command exited non-zero (``log``: its output)
    └── StepFailedError        a step's check failed (``step``, ``log``)
"""

from __future__ import annotations

from pathlib import Path

from coordinator.errors import CoordinatorError

__all__ = ["CommandFailedError", "SandboxError", "StepFailedError"]


class SandboxError(CoordinatorError):
    """Root of the sandbox's errors."""


class CommandFailedError(SandboxError):
    """A child command exited non-zero; ``log`` holds its output."""

    def __init__(self, message: str, *, log: Path, returncode: int) -> None:
        super().__init__(message)
        self.log = log
        self.returncode = returncode


class StepFailedError(SandboxError):
    """A step ran but its outcome is not what the loop needs (e.g. agreement did not rise)."""

    def __init__(self, message: str, *, step: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.log = log
