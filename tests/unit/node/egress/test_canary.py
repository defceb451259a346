from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from node.egress import CanaryScan, Denylist, Finding
from node.errors import CanaryDetectedError, EgressRefusedError
from shared.phantoms import Canaries

CANARIES = Canaries.derive(7, "hospital-a")
HOSPITAL_ROOT = "1.2.840.113619"
DENY = Denylist(
    uid_prefixes=(HOSPITAL_ROOT,),
    terms=("DOE^JANE", "PID-99887766", "19650312", "123456789", "Müller^Anna"),
)
SCAN = CanaryScan(DENY)


def rules(payload: Any) -> list[str]:
    return [f.rule for f in SCAN.findings(payload)]


@pytest.mark.parametrize("name", sorted(CANARIES.by_field))
def test_every_phantom_canary_is_caught_in_a_string(name: str) -> None:
    value = CANARIES[name]
    scan = CanaryScan(Denylist(terms=(CANARIES["patient_birth_date"],)))
    assert scan.findings({"x": f"prefix {value} suffix"}), name


@pytest.mark.parametrize(
    "wrap",
    [
        lambda v: {"a": v},
        lambda v: {"a": {"b": [1, {"c": v}]}},
        lambda v: {"a": v.encode()},
        lambda v: {"a": bytearray(b"\x00\xff" + v.encode() + b"\x00")},
        lambda v: {"a": v.lower()},
        lambda v: {v: 1},
        lambda v: {"a": np.asarray(["1", v])},
        lambda v: {"a": (v,)},
        lambda v: {"a": {"x", v}},
        lambda v: {"a": np.str_(v)},
    ],
)
def test_canary_found_wherever_it_hides(wrap: Any) -> None:
    assert rules(wrap(CANARIES["patient_id"])) == ["phantom_canary"]


def test_canary_smuggled_inside_a_float_array() -> None:
    raw = b"xx" + CANARIES["patient_name"].encode() + b"yyyyyy"  # 24 bytes: 3 float64
    smuggled = np.frombuffer(raw, dtype=np.float64)
    assert rules({"w": smuggled}) == ["phantom_canary"]


def test_hospital_uids() -> None:
    assert rules({"uid": f"{HOSPITAL_ROOT}.2.55.3.123"}) == ["hospital_uid"]
    assert rules({"uid": HOSPITAL_ROOT}) == ["hospital_uid"]
    assert rules({"uid": f"x {HOSPITAL_ROOT}.1 y"}) == ["hospital_uid"]
    assert rules({"uid": "2.25.1234"}) == []
    assert rules({"uid": f"1{HOSPITAL_ROOT}"}) == []  # another root that merely contains it
    assert rules({"uid": f"{HOSPITAL_ROOT}9"}) == []
    raw = np.frombuffer((HOSPITAL_ROOT + ".12").encode(), dtype=np.uint8)
    assert rules({"a": raw}) == ["hospital_uid"]


@pytest.mark.parametrize(
    "text",
    [
        "DOE^JANE",
        "Jane Doe",
        "doe, jane",
        "note about Doe",  # a name part under four letters alone is not enough
        "PID-99887766",
        "pid 99887766",
        "1965-03-12",
        "12.03.1965",
        "19650312",
        "MÜLLER",
        "anna müller",
    ],
)
def test_denylisted_terms(text: str) -> None:
    expected = [] if text == "note about Doe" else ["denylist"]
    assert rules({"t": text}) == expected


def test_short_name_parts_do_not_over_match() -> None:
    assert rules({"t": "doer jan"}) == []  # "Doe" is under 4 letters: only whole names
    assert rules({"t": "Mueller"}) == []
    assert rules({"t": "lung-rads"}) == []


def test_numbers_matching_long_numeric_terms() -> None:
    assert rules({"n": 123456789}) == ["denylist"]
    assert rules({"n": 19650312.0}) == ["denylist"]
    assert rules({"n": np.asarray([1, 2, 123456789], dtype=np.int64)}) == ["denylist"]
    assert rules({"n": np.asarray([0.5, 19650312.0])}) == ["denylist"]
    assert rules({"n": np.asarray([0.5, np.nan, 3.0])}) == []
    assert rules({"n": 12345}) == []
    assert rules({"flag": True, "none": None, "f": 0.25}) == []


def test_check_names_field_and_rule_not_value() -> None:
    payload = {"metadata": {"model": "ok", "note": f"from {CANARIES['patient_name']}"}}
    with pytest.raises(CanaryDetectedError) as caught:
        SCAN.check(payload, kind="health")
    error = caught.value
    assert error.field == "$.metadata.note"
    assert error.rule == "phantom_canary"
    assert error.kind == "health"
    assert CANARIES["patient_name"] not in str(error)
    assert SCAN.findings(payload) == [Finding("$.metadata.note", "phantom_canary")]


def test_object_arrays_are_refused() -> None:
    with pytest.raises(EgressRefusedError, match="dtype"):
        SCAN.check({"a": np.asarray([object()], dtype=object)})


def test_clean_payload_passes() -> None:
    SCAN.check({"a": np.linspace(0, 1, 100), "label": "nodule-mask", "codes": ["1", "4A"]})


def test_bad_uid_prefix_configuration() -> None:
    with pytest.raises(EgressRefusedError, match="dot-separated digits"):
        Denylist(uid_prefixes=("1.2.x",))


def test_default_scan_catches_phantom_canaries_only() -> None:
    scan = CanaryScan()
    assert scan.findings({"a": CANARIES["study_id"]})
    assert not scan.findings({"a": "DOE^JANE 1.2.840.113619.1"})


@pytest.mark.parametrize("offset", [0, 3, 9, 15, 16, 17, 31])
def test_smuggled_text_across_chunks(monkeypatch: pytest.MonkeyPatch, offset: int) -> None:
    import node.egress.canary as canary

    monkeypatch.setattr(canary, "_CHUNK", 16)
    raw = b"\x00" * offset + CANARIES["patient_id"].encode() + b"\x01" * (48 - offset)
    assert rules({"w": np.frombuffer(raw, dtype=np.uint8)}) == ["phantom_canary"]
    mixed_case = raw.replace(b"CANARY", b"CaNaRy")
    assert rules({"w": np.frombuffer(mixed_case, dtype=np.uint8)}) == ["phantom_canary"]


def test_printable_runs_join_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import node.egress.canary as canary

    monkeypatch.setattr(canary, "_CHUNK", 16)
    cases = {
        b"\x00" * 5 + b"A" * 20 + b"\x01" + b"B" * 7 + b"\x02" + b"C" * 40: [(5, 25), (34, 74)],
        b"A" * 16 + b"B" * 3 + b"\x00" + b"C" * 13 + b"\x00": [(0, 19), (20, 33)],
        b"\x00" * 12 + b"D" * 8 + b"\x00" * 12: [(12, 20)],
        b"E" * 64: [(0, 64)],
        b"": [],
    }
    for raw, runs in cases.items():
        assert list(canary._printable_runs(np.frombuffer(raw, np.uint8))) == runs, raw
