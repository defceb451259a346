"""The optional ``readers`` roster of ``calibration_annotations``: known cases, pseudonyms only."""

from __future__ import annotations

from node.egress import validate_payload
from tests.unit.node.egress.test_kinds import RULES, calibration, refused


def test_roster_of_pseudonyms_passes() -> None:
    payload = {**calibration(), "readers": {"case-001": ["r1", "r2"]}}
    validate_payload("calibration_annotations", payload, RULES)


def test_roster_refusals() -> None:
    unknown = {**calibration(), "readers": {"case-999": ["r1"]}}
    assert refused("calibration_annotations", unknown).field == "$.readers.<key>"
    named = {**calibration(), "readers": {"case-001": ["alice"]}}
    assert refused("calibration_annotations", named).field == "$.readers.<case>[]"
    flat = {**calibration(), "readers": {"case-001": "r1"}}
    assert refused("calibration_annotations", flat).field == "$.readers.<case>"
