"""Reading the example environment files of deploy/config."""

from __future__ import annotations

import re
from pathlib import Path

_ASSIGNMENT = re.compile(r"^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def read_env(path: Path) -> dict[str, str]:
    """The active (uncommented) assignments."""
    values = {}
    for line in path.read_text().splitlines():
        match = _ASSIGNMENT.match(line)
        if match and not match.group(1):
            values[match.group(2)] = match.group(3)
    return values


def named_variables(path: Path, prefix: str) -> set[str]:
    """Every variable with ``prefix`` the file names, commented out or not."""
    return {
        match.group(2)
        for line in path.read_text().splitlines()
        if (match := _ASSIGNMENT.match(line)) and match.group(2).startswith(prefix)
    }
