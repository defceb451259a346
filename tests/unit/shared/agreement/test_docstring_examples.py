"""The examples in the public docstrings run and are correct."""

import doctest
import importlib

import pytest

MODULES = [
    "shared.agreement.alpha",
    "shared.agreement.confusion",
    "shared.agreement.percent",
    "shared.consensus.disagreement",
    "shared.consensus.majority",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
