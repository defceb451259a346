"""``harmonia-node import`` and ``pull`` end to end: real node, real files, a real Orthanc."""

from __future__ import annotations

import shutil
import socket
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pydicom
import pytest

from node.cli import main
from node.runtime import open_node
from node.settings import NodeSettings
from node.store import Level, SearchRequest
from tests.dicom_samples import pydicom_file
from tests.integration.storable_samples import original_identities, storable_files
from tests.support.orthanc import OrthancServer, OrthancUnavailableError, running_orthanc

pytestmark = pytest.mark.integration


def stored_count(data_dir: Path) -> int:
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        return runtime.store.count_instances()


def stored_bytes(data_dir: Path) -> list[bytes]:
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        found = []
        for study in runtime.store.search_studies(
            SearchRequest(Level.STUDY, include_quarantined=True)
        ):
            for record in runtime.store.instances(
                study_instance_uid=study.study_instance_uid, include_quarantined=True
            ):
                found.append(runtime.store.read(record))
        return found


def assert_deidentified(data_dir: Path, originals: set[str]) -> None:
    blobs = stored_bytes(data_dir)
    assert blobs
    for data in blobs:
        ds = pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
        assert str(ds.StudyInstanceUID) not in originals
        assert str(ds.get("PatientID", "")) not in originals
        for identity in originals:
            if len(identity) >= 8:  # short IDs like 'ID1' could occur in pixel data by chance
                assert identity.encode() not in data


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMONIA_NODE_FSYNC", "false")


def test_import_folder_and_zip(
    tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "node"
    folder = tmp_path / "export"
    (folder / "series1").mkdir(parents=True)
    files = storable_files()
    for path in files[:5]:
        shutil.copy(path, folder / "series1" / path.name)
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "DICOMDIR")
    (folder / "README.txt").write_text("exported from PACS")
    shutil.copy(pydicom_file("JPEGLSNearLossless_16.dcm"), folder / "no_study.dcm")

    assert main(["import", "--data-dir", str(data_dir), str(folder)]) == 1
    out = capsys.readouterr().out
    assert "stored: 5" in out and "rejected: 1" in out
    assert "no_study.dcm: StudyInstanceUID is missing" in out
    assert "DICOMDIR is a media directory index" in out
    assert stored_count(data_dir) == 5

    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, f"study/{path.name}")
        zf.writestr("../escape.dcm", pydicom_file("CT_small.dcm").read_bytes())
    assert main(["import", "--data-dir", str(data_dir), str(archive)]) == 0
    out = capsys.readouterr().out
    assert f"stored: {len(files) - 5}" in out and "duplicates: 5" in out
    assert "unsafe member name" in out
    assert stored_count(data_dir) == len(files)
    assert_deidentified(data_dir, original_identities(files))


def test_import_missing_path_is_a_usage_error(
    tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "--data-dir", str(tmp_path / "n"), str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    try:
        with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
            for path in storable_files():
                server.upload(path.read_bytes())
            yield server
    except OrthancUnavailableError as exc:
        pytest.skip(str(exc))


def studies_of(paths: list[Path], **match: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if all(str(ds.get(key, "")) == value for key, value in match.items()):
            counts[str(ds.StudyInstanceUID)] = counts.get(str(ds.StudyInstanceUID), 0) + 1
    return counts


def test_pull_by_study_uid(
    orthanc: OrthancServer, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    files = storable_files()
    study_uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    expected = studies_of(files)[study_uid]
    data_dir = tmp_path / "node"
    argv = ["pull", "--data-dir", str(data_dir), "--from", orthanc.dicomweb_url]
    assert main([*argv, "--study", study_uid]) == 0
    assert f"stored: {expected}" in capsys.readouterr().out
    assert stored_count(data_dir) == expected
    assert main([*argv, "--study", study_uid, "--study", "1.2.3.4.5.404"]) == 1
    out = capsys.readouterr().out
    assert f"duplicates: {expected}" in out and "study 1.2.3.4.5.404: study not found" in out
    assert_deidentified(data_dir, original_identities(files))


def test_pull_by_query(
    orthanc: OrthancServer, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    files = storable_files()
    patient_id = str(pydicom.dcmread(files[1], stop_before_pixels=True).PatientID)
    expected = studies_of(files, PatientID=patient_id)
    assert expected and sum(expected.values()) < len(files)  # the query selects
    data_dir = tmp_path / "node"
    code = main(
        [
            "pull",
            "--data-dir",
            str(data_dir),
            "--from",
            orthanc.dicomweb_url,
            "--query",
            f"PatientID={patient_id}",
            "--query",
            "StudyDate=19000101-20991231",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert f"query matched {len(expected)} stud" in out
    assert stored_count(data_dir) == sum(expected.values())
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        studies = runtime.store.search_studies(SearchRequest(Level.STUDY, include_quarantined=True))
    assert len(studies) == len(expected)
    assert all(study.patient_id != patient_id for study in studies)
    assert_deidentified(data_dir, original_identities(files))


def test_pull_from_unreachable_pacs(
    tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(
        [
            "pull",
            "--data-dir",
            str(tmp_path / "n"),
            "--from",
            f"http://127.0.0.1:{port}/dicom-web",
            "--study",
            "1.2.3",
        ]
    )
    assert code == 4
    assert "cannot connect to the PACS" in capsys.readouterr().err


def test_pull_needs_a_study_or_query(
    tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pull", "--data-dir", str(tmp_path / "n"), "--from", "http://127.0.0.1:1/x"])
    assert code == 2
    assert "--study" in capsys.readouterr().err
