"""The re-identification link end to end: key pair, sealed at ingest, opened only with the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.cli import main
from node.runtime import open_node
from node.settings import NodeSettings
from tests.dicom_samples import pydicom_file


def test_links_are_sealed_at_ingest_and_open_only_with_the_private_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = tmp_path / "relink.key", tmp_path / "relink.pub"
    assert (
        main(["relink", "keygen", "--private-key", str(private), "--public-key", str(public)]) == 0
    )
    assert private.stat().st_mode & 0o777 == 0o600
    data_dir = tmp_path / "node"
    settings = NodeSettings(data_dir=data_dir, relink_public_key=public, fsync=False)
    with open_node(settings) as runtime:
        outcome = runtime.ingest.ingest_bytes(pydicom_file("CT_small.dcm").read_bytes(), source="t")
        record = runtime.store.instance(
            outcome.stored_sop_instance_uid or "", include_quarantined=True
        )
        stored = runtime.store.read(record)
    capsys.readouterr()
    pseudonym = _pseudonym(data_dir)
    assert b"CompressedSamples^CT1" not in stored
    code = main(
        ["relink", "show", "--data-dir", str(data_dir), "--private-key", str(private), pseudonym]
    )
    assert code == 0
    link = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert link["patient_name"] == "CompressedSamples^CT1"
    assert link["pseudonym_patient_id"] == pseudonym
    other_private, other_public = tmp_path / "other.key", tmp_path / "other.pub"
    main(
        ["relink", "keygen", "--private-key", str(other_private), "--public-key", str(other_public)]
    )
    assert (
        main(
            [
                "relink",
                "show",
                "--data-dir",
                str(data_dir),
                "--private-key",
                str(other_private),
                pseudonym,
            ]
        )
        != 0
    )
    assert (
        main(
            [
                "relink",
                "show",
                "--data-dir",
                str(data_dir),
                "--private-key",
                str(private),
                "HN-none",
            ]
        )
        != 0
    )


def _pseudonym(data_dir: Path) -> str:
    from node.store import Level, SearchRequest

    with open_node(NodeSettings(data_dir=data_dir)) as runtime:
        (study,) = runtime.store.search_studies(SearchRequest(Level.STUDY))
    return study.patient_id
