"""The ``--run-config`` text ``flwr run`` takes: ``key=value`` pairs, values in TOML."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["run_config_text"]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def run_config_text(config: Mapping[str, Any]) -> str:
    """``config`` as one ``--run-config`` argument: booleans and numbers bare, the rest quoted."""
    return " ".join(f"{key}={_toml(value)}" for key, value in config.items())
