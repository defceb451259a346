"""A reader's DICOM SEG sent by STOW-RS (dicomweb-client, as OHIF or 3D Slicer would) to a
real node process becomes an annotation revision by that reader, visible through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client import DICOMwebClient

from node.runtime import open_node
from node.settings import NodeSettings
from shared.formats import write_segmentation
from tests.support.node_process import NodeProcess, running_node
from tests.unit.node.export.conftest import _fast_hasher, build_world, disc

pytestmark = pytest.mark.integration


@dataclass
class Prepared:
    task_id: int
    series_uid: str
    study_uid: str
    alice_token: str


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Prepared]:
    data_dir = tmp_path_factory.mktemp("seg-import") / "node"
    with open_node(NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=0)) as runtime:
        runtime.users.hasher = _fast_hasher()
        world = build_world(runtime, complete=False)
        alice = runtime.users.get("alice")
        token = runtime.tokens.issue("alice-slicer", [], user_id=alice.id).token
    return data_dir, Prepared(world.task_id, world.series_uid, world.study_uid, token)


@pytest.fixture(scope="module")
def node(prepared: tuple[Path, Prepared]) -> Iterator[NodeProcess]:
    with running_node(prepared[0]) as process:
        yield process


@pytest.fixture(scope="module")
def viewer(node: NodeProcess, prepared: tuple[Path, Prepared]) -> DICOMwebClient:
    """Alice's viewer, signed in with her own token."""
    return DICOMwebClient(
        f"{node.url}/dicom-web", headers={"Authorization": f"Bearer {prepared[1].alice_token}"}
    )


def segmentation(viewer: DICOMwebClient, info: Prepared, label: str) -> pydicom.Dataset:
    """Retrieve the series from the node as a viewer does, segment slice 2, build the SEG."""
    series = viewer.retrieve_series(info.study_uid, info.series_uid)
    series.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    masks = np.zeros((len(series), int(series[0].Rows), int(series[0].Columns)), bool)
    masks[2] = disc(33, 28, 7)
    return write_segmentation(
        series, {label: masks}, series_description="Segmentation", content_creator="alice"
    )


def test_stowed_seg_becomes_alices_revision(
    node: NodeProcess, viewer: DICOMwebClient, prepared: tuple[Path, Prepared]
) -> None:
    info = prepared[1]
    seg = segmentation(viewer, info, "nodule-mask")
    response = viewer.store_instances([seg])
    assert len(response.ReferencedSOPSequence) == 1
    assert "FailedSOPSequence" not in response
    task = httpx.get(
        f"{node.url}/api/tasks/{info.task_id}",
        headers={"Authorization": f"Bearer {info.alice_token}"},
        timeout=30,
    ).json()
    (mask,) = [a for a in task["annotations"] if a["kind"] == "mask"]
    assert mask["reader"] == "alice" and mask["author"] == "alice"
    assert mask["revision"] == 2  # on top of the mask she drew in the UI
    assert list(mask["geometry"]["slices"]) == ["2"]
    history = httpx.get(
        f"{node.url}/api/annotations/{mask['annotation_id']}/revisions",
        headers={"Authorization": f"Bearer {info.alice_token}"},
        timeout=30,
    ).json()["revisions"]
    assert [r["revision"] for r in history] == [1, 2]
    # The SEG itself is stored, de-identified, like any instance.
    url = response.ReferencedSOPSequence[0].RetrieveURL
    study, series, instance = (url.split("/")[i] for i in (-5, -3, -1))
    copy = viewer.retrieve_instance(study, series, instance)
    assert copy.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"
    assert copy.PatientIdentityRemoved == "YES"


def test_stored_seg_stays_in_the_study_it_annotates(
    viewer: DICOMwebClient, prepared: tuple[Path, Prepared]
) -> None:
    info = prepared[1]
    viewer.store_instances([segmentation(viewer, info, "nodule-mask")])  # a duplicate is fine
    found = viewer.search_for_series(info.study_uid, search_filters={"Modality": "SEG"})
    assert len(found) >= 1


def test_a_label_outside_the_guideline_is_refused_with_the_reason(
    viewer: DICOMwebClient, prepared: tuple[Path, Prepared]
) -> None:
    seg = segmentation(viewer, prepared[1], "liver")
    with pytest.raises(requests.HTTPError) as failure:
        viewer.store_instances([seg])
    response = failure.value.response
    assert response.status_code == 409
    reason = response.json()["00081198"]["Value"][0]["00091001"]["Value"][0]
    assert "'liver'" in reason and "nodule-mask" in reason
