"""Every row of Table E.1-1 (from the data source) is applied per its action."""

from __future__ import annotations

import pytest
from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as source
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, get_entry
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence

from node.dicom.deid import BasicAction, Deidentifier, load_profile_table
from node.dicom.deid.values import DUMMY_TEXT

from .deid_fixtures import SECRET, make_ct, roundtrip, tags_of

TABLE = load_profile_table()
SPECIAL = {0x00100010, 0x00100020, 0x00080050, 0x00200010}  # pseudonymized
SOURCE_LISTS = [
    "D_TAGS",
    "Z_TAGS",
    "X_TAGS",
    "U_TAGS",
    "Z_D_TAGS",
    "X_Z_TAGS",
    "X_D_TAGS",
    "X_Z_D_TAGS",
    "X_Z_U_STAR_TAGS",
]


def _vr(tag: int) -> str | None:
    try:
        return get_entry(tag)[0].split(" or ")[0]
    except KeyError:
        return None


def _sample(vr: str) -> object:
    samples: dict[str, object] = {
        "AE": "CANARYAE",
        "AS": "042Y",
        "AT": 0x00100010,
        "CS": "CANARY",
        "DA": "20240102",
        "DS": "12.5",
        "DT": "20240102030405",
        "FD": 1.5,
        "FL": 1.5,
        "IS": "7",
        "SL": 7,
        "SS": 7,
        "SV": 7,
        "TM": "030405",
        "UL": 7,
        "UR": "http://canary.example/x",
        "US": 7,
        "UV": 7,
        "UI": "1.2.826.0.1.3680043.8.498.999",
    }
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN"):
        return b"CANARYCANARY1234"
    return samples.get(vr, "CANARY VALUE")


def _entries() -> list[tuple[int, BasicAction]]:
    return sorted(TABLE)


def test_table_covers_every_source_entry() -> None:
    total = sum(len(getattr(source, name)) for name in SOURCE_LISTS)
    assert len(TABLE) == total
    assert len(TABLE.masked) == 3
    for name in SOURCE_LISTS:
        for entry in getattr(source, name):
            if len(entry) == 2:
                assert TABLE.action_for((entry[0] << 16) | entry[1]) is not None


@pytest.mark.parametrize(
    ("tag", "action"), _entries(), ids=lambda v: f"{v:08X}" if isinstance(v, int) else str(v)
)
def test_each_table_attribute_handled_per_action(tag: int, action: BasicAction) -> None:
    vr = _vr(tag) or "LO"  # newer than pydicom's dictionary: written as LO
    if tag >> 16 in (0x0000, 0x0002) or tag in SPECIAL:
        pytest.skip("command/meta/pseudonymized tags are tested elsewhere")
    ds = make_ct()
    if vr == "SQ":
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.777"
        ds[tag] = DataElement(tag, "SQ", Sequence([item]))
    else:
        ds[tag] = DataElement(tag, vr, _sample(vr))
    Deidentifier(SECRET).deidentify(ds)
    out = roundtrip(ds)
    if action is BasicAction.X:
        assert tag not in out
        return
    assert tag in out, f"{action} must keep ({tag:08X}) present"
    elem = out[tag]
    if vr == "SQ":
        items = list(elem.value)
        if action.allows_zero_length and action is not BasicAction.X_Z_U_STAR:
            assert items == []
        elif tag == 0x00401101:
            assert items[0].CodeValue == DUMMY_TEXT
        else:
            assert items[0].ReferencedSOPInstanceUID.startswith("2.25.")
        return
    if action in (BasicAction.Z, BasicAction.X_Z):
        assert elem.is_empty
        return
    if vr == "UI":
        assert str(elem.value).startswith("2.25.")
        return
    assert not elem.is_empty, f"{action} on ({tag:08X}) {vr} must leave a dummy"
    assert elem.value != _sample(vr) or vr in ("AT",)


def test_masked_groups_removed() -> None:
    ds = make_ct()
    ds.add_new(0x50000010, "US", 2)  # Curve data group 5000
    ds.add_new(0x50023000, "OW", b"\x00\x01")
    ds.add_new(0x60000010, "US", 4)  # Overlay rows
    ds.add_new(0x60003000, "OW", b"\xff\x00")  # Overlay data
    ds.add_new(0x60024000, "LT", "overlay comment CANARY")
    Deidentifier(SECRET).deidentify(ds)
    assert not [tag for tag in tags_of(ds) if tag >> 24 in (0x50, 0x60)]


def test_compound_resolution_is_conservative() -> None:
    ds = make_ct()
    ds.InstitutionName = "Saint Canary Hospital"  # X/Z/D -> dummy
    ds.AcquisitionDate = "20240310"  # X/Z -> empty
    ds.ProtocolName = "Canary protocol"  # X/D -> dummy
    ds.InstitutionCodeSequence = Sequence([Dataset()])  # X/Z/D on SQ -> empty
    Deidentifier(SECRET).deidentify(ds)
    assert ds.InstitutionName == DUMMY_TEXT
    assert ds["AcquisitionDate"].is_empty
    assert ds.ProtocolName == DUMMY_TEXT
    assert len(ds.InstitutionCodeSequence) == 0


def test_dummies_are_vr_appropriate() -> None:
    ds = make_ct()
    Deidentifier(SECRET).deidentify(ds)
    assert ds.ContentDate == "19000101"  # Z/D on DA
    assert ds.ContentTime == "000000"  # Z/D on TM
    assert ds.AcquisitionDateTime == "19000101000000"  # X/Z/D on DT
    assert dictionary_VR(0x00080023) == "DA"
