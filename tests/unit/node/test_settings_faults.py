"""Development-only fault injection of model updates: parsed, validated, refused in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from node.settings import NodeSettings
from shared.errors import ConfigurationError


def test_a_scale_factor_is_parsed_and_unset_means_none(tmp_path: Path) -> None:
    assert NodeSettings(data_dir=tmp_path).update_corruption is None
    settings = NodeSettings(data_dir=tmp_path, fault_corrupt_updates="scale:1e6")
    assert settings.update_corruption == 1e6


@pytest.mark.parametrize("value", ["1e6", "scale:", "scale:abc", "scale:inf", "flip"])
def test_malformed_faults_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError):
        NodeSettings(data_dir=tmp_path, fault_corrupt_updates=value)


def test_the_production_profile_refuses_fault_injection(tmp_path: Path) -> None:
    with pytest.raises((ConfigurationError, ValidationError), match="fault_corrupt_updates"):
        NodeSettings(data_dir=tmp_path, profile="production", fault_corrupt_updates="scale:2")
