"""The ``--run-config`` text handed to ``flwr run``, read back by Flower's own parser."""

from __future__ import annotations

from flwr.common.config import parse_config_args

from coordinator.run_config import run_config_text


def test_flower_reads_back_the_same_values_and_types() -> None:
    config = {
        "rounds": 3,
        "noise": 1.5,
        "secure-aggregation": False,
        "run-dir": "/var/lib/harmonia/flower/runs/run 1",
        "site": "north",
    }
    assert parse_config_args([run_config_text(config)]) == config


def test_an_empty_config_is_an_empty_argument() -> None:
    assert run_config_text({}) == ""
    assert parse_config_args([run_config_text({})]) == {}
