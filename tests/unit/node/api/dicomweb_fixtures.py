"""Shared pieces of the DICOMweb route tests: a node with sample instances in it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient

from node.api import create_app
from node.dicom.ingest import IngestOutcome
from node.dicom.multipart import MultipartRelatedParser, Part, parse_multipart_related_type
from node.runtime import NodeRuntime
from tests.dicom_samples import pydicom_file


@dataclass(frozen=True)
class Stored:
    """Where an ingested sample ended up (its de-identified UIDs)."""

    study: str
    series: str
    instance: str
    quarantined: bool

    @property
    def url(self) -> str:
        return f"/dicom-web/studies/{self.study}/series/{self.series}/instances/{self.instance}"


def ingest(runtime: NodeRuntime, *names: str) -> dict[str, Stored]:
    """Ingest pydicom test files by name; returns where each went."""
    stored = {}
    for name in names:
        outcome: IngestOutcome = runtime.ingest.ingest_bytes(
            pydicom_file(name).read_bytes(), source="test"
        )
        assert outcome.accepted, outcome
        assert outcome.stored_study_instance_uid and outcome.stored_series_instance_uid
        assert outcome.stored_sop_instance_uid
        stored[name] = Stored(
            outcome.stored_study_instance_uid,
            outcome.stored_series_instance_uid,
            outcome.stored_sop_instance_uid,
            outcome.quarantined,
        )
    return stored


def client_for(runtime: NodeRuntime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime=runtime))


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def multipart_parts(response: httpx.Response) -> list[Part]:
    """Parse a multipart/related response into its parts."""
    boundary, _ = parse_multipart_related_type(response.headers["content-type"])
    parser = MultipartRelatedParser(boundary, max_part_bytes=1 << 30)
    parts = parser.feed(response.content)
    parser.close()
    return parts
