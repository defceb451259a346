from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from node.dicom.folder_import import import_path, sniff_not_dicom
from shared.errors import InvalidInputError
from tests.dicom_samples import pydicom_file
from tests.unit.node.dicom.fake_ingest import FakeIngest

LIMIT = 10 * 1024 * 1024


class CountingProgress:
    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0

    def begin(self, total: int | None) -> None:
        self.total = total

    def advance(self, count: int = 1) -> None:
        self.done += count


def part10(name: str) -> bytes:
    return pydicom_file(name).read_bytes()


def test_sniff() -> None:
    dicom = part10("CT_small.dcm")
    assert sniff_not_dicom("a.dcm", dicom[:132]) is None
    assert sniff_not_dicom("x", b"\x08\x00\x05\x00CS\x0a\x00") is None  # no preamble
    assert "DICOMDIR" in (sniff_not_dicom("cd/DICOMDIR", dicom[:132]) or "")
    assert "not DICOM" in (sniff_not_dicom("README.txt", b"hello world, this is text") or "")
    assert sniff_not_dicom("empty", b"") is not None


def _source(path: object) -> str:
    """The recorded provenance: a digest, never the path (names can carry patient data)."""
    return "import:" + hashlib.sha256(str(path).encode()).hexdigest()[:24]


def test_sources_never_carry_the_path(tmp_path: Path) -> None:
    patient_named = tmp_path / "DOE^JOHN 1234567"
    patient_named.mkdir()
    (patient_named / "ct.dcm").write_bytes(part10("CT_small.dcm"))
    ingest = FakeIngest()
    import_path(ingest, tmp_path, max_instance_bytes=LIMIT)
    ((_, source),) = ingest.calls
    assert "DOE" not in source and "1234567" not in source


def test_folder_is_walked_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "ct.dcm").write_bytes(part10("CT_small.dcm"))
    (tmp_path / "a" / "b" / "IM0001").write_bytes(part10("MR_small.dcm"))
    (tmp_path / "a" / "b" / "copy.dcm").write_bytes(part10("MR_small.dcm"))
    (tmp_path / "DICOMDIR").write_bytes(part10("CT_small.dcm"))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "a" / "b" / "zz_broken.dcm").write_bytes(b"\0" * 128 + b"DICMtruncated")
    ingest = FakeIngest()
    progress = CountingProgress()
    summary = import_path(ingest, tmp_path, max_instance_bytes=LIMIT, progress=progress)
    assert (summary.stored, summary.duplicates) == (3, 1)
    assert [Path(p).name for p, _ in summary.skipped] == ["DICOMDIR", "notes.txt"]
    assert summary.rejected == []  # the fake accepts anything with DICM
    assert progress.total == 6 and progress.done == 6
    assert {source for _, source in ingest.calls} == {
        _source(tmp_path / "a" / "ct.dcm"),
        _source(tmp_path / "a" / "b" / "IM0001"),
        _source(tmp_path / "a" / "b" / "copy.dcm"),
        _source(tmp_path / "a" / "b" / "zz_broken.dcm"),
    }


def test_rejections_carry_path_and_reason(tmp_path: Path) -> None:
    (tmp_path / "raw.dcm").write_bytes(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100")
    summary = import_path(FakeIngest(), tmp_path, max_instance_bytes=LIMIT)
    assert summary.rejected == [(str(tmp_path / "raw.dcm"), "not DICOM (0xC000)")]
    assert not summary.complete


def test_single_file(tmp_path: Path) -> None:
    path = tmp_path / "one.dcm"
    path.write_bytes(part10("CT_small.dcm"))
    assert import_path(FakeIngest(), path, max_instance_bytes=LIMIT).stored == 1


def test_zip_members_are_streamed_and_guarded(tmp_path: Path) -> None:
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("study/ct.dcm", part10("CT_small.dcm"))
        zf.writestr("study/mr.dcm", part10("MR_small.dcm"))
        zf.writestr("study/", b"")
        zf.writestr("DICOMDIR", part10("CT_small.dcm"))
        zf.writestr("../../etc/evil.dcm", part10("JPEG2000.dcm"))
        zf.writestr("/abs.dcm", part10("JPEG2000.dcm"))
        zf.writestr("bomb.dcm", b"\0" * 128 + b"DICM" + b"\0" * (LIMIT + 10))
        zf.writestr("__MACOSX/study/._ct.dcm", b"\x00\x05\x16\x07 AppleDouble")
    ingest = FakeIngest()
    progress = CountingProgress()
    summary = import_path(ingest, archive, max_instance_bytes=LIMIT, progress=progress)
    assert summary.stored == 2
    assert [name for name, _ in summary.rejected] == [f"{archive}/bomb.dcm"]
    assert "over the node's limit" in summary.rejected[0][1]
    skipped = {name.removeprefix(f"{archive}/"): why for name, why in summary.skipped}
    assert set(skipped) == {"DICOMDIR", "../../etc/evil.dcm", "/abs.dcm", "__MACOSX/study/._ct.dcm"}
    assert "unsafe member name" in skipped["../../etc/evil.dcm"]
    assert progress.total == progress.done == 7
    assert not (tmp_path / "study").exists()  # nothing extracted
    assert {source for _, source in ingest.calls} == {
        _source(f"{archive}/study/ct.dcm"),
        _source(f"{archive}/study/mr.dcm"),
    }


def test_zip_member_larger_than_its_header_says_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    payload = b"\0" * 128 + b"DICM" + b"\1" * 5000
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("liar.dcm", payload)
    summary = import_path(FakeIngest(), archive, max_instance_bytes=1000)
    assert len(summary.rejected) == 1  # the declared size is checked before reading


def test_damaged_zip_and_missing_path_raise(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("a.dcm", part10("CT_small.dcm"))
    data = bytearray(good.read_bytes())
    data[40:60] = b"\xff" * 20  # inside the member's data: CRC fails
    bad.write_bytes(bytes(data))
    summary = import_path(FakeIngest(), bad, max_instance_bytes=LIMIT)
    assert len(summary.rejected) == 1 and "damaged" in summary.rejected[0][1]
    with pytest.raises(InvalidInputError, match="does not exist"):
        import_path(FakeIngest(), tmp_path / "nope", max_instance_bytes=LIMIT)


def test_parallel_workers_count_every_item(tmp_path: Path) -> None:
    data = part10("CT_small.dcm")
    for i in range(40):
        (tmp_path / f"{i:02d}.dcm").write_bytes(data[:-1] + bytes([i]))
    summary = import_path(FakeIngest(), tmp_path, max_instance_bytes=LIMIT, workers=4)
    assert summary.stored == 40 and summary.handled == 40
