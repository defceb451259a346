from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from node.dicom.pacs_pull import PacsPuller, parse_query
from node.errors import QueryError, RemoteSourceError
from tests.dicom_samples import multipart_body, pydicom_file
from tests.unit.node.dicom.fake_ingest import FakeIngest

BASE = "https://pacs.example/dicom-web"
CT = pydicom_file("CT_small.dcm").read_bytes()
MR = pydicom_file("MR_small.dcm").read_bytes()


def uid_item(tag: str, uid: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {tag: {"vr": "UI", "Value": [uid]}}
    for key, value in extra.items():
        item[key] = {"vr": "IS", "Value": [value]}
    return item


def chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


class FakePacs:
    """A DICOMweb server in a function: studies S1 (two series) and S2 (one)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.series = {"S1": {"A": [CT], "B": [MR, MR]}, "S2": {"C": [MR]}}
        self.fail_series: dict[str, int] = {}
        self.refuse_any_syntax = False
        self.status_for_all: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status_for_all is not None:
            return httpx.Response(self.status_for_all)
        parts = request.url.path.removeprefix("/dicom-web/").split("/")
        if parts == ["studies"]:
            studies = sorted(self.series)
            offset = int(request.url.params.get("offset", 0))
            limit = int(request.url.params.get("limit", 1000))
            page = studies[offset : offset + limit]
            return httpx.Response(200, json=[uid_item("0020000D", s) for s in page])
        if len(parts) == 3 and parts[2] == "series":
            series = self.series.get(parts[1])
            if series is None:
                return httpx.Response(204)
            return httpx.Response(
                200,
                json=[
                    uid_item("0020000E", name, **{"00201209": str(len(items))})
                    for name, items in series.items()
                ],
            )
        if len(parts) == 4:
            accept = request.headers["accept"]
            if self.refuse_any_syntax and "transfer-syntax=*" in accept:
                return httpx.Response(406)
            if parts[3] in self.fail_series:
                return httpx.Response(self.fail_series[parts[3]], text="boom")
            body, content_type = multipart_body(self.series[parts[1]][parts[3]])
            return httpx.Response(200, headers={"Content-Type": content_type}, content=chunks(body))
        return httpx.Response(404)


def puller(
    pacs: Callable[[httpx.Request], httpx.Response], ingest: FakeIngest, **kwargs: Any
) -> PacsPuller:
    return PacsPuller(
        ingest,  # type: ignore[arg-type]
        BASE,
        max_instance_bytes=10 * 1024 * 1024,
        transport=httpx.MockTransport(pacs),
        **kwargs,
    )


def test_parse_query() -> None:
    assert parse_query(["PatientID=X", "StudyDate=20200101-20201231", "00080061=CT"]) == {
        "PatientID": "X",
        "StudyDate": "20200101-20201231",
        "00080061": "CT",
    }
    with pytest.raises(QueryError, match="KEY=VALUE"):
        parse_query(["PatientID"])
    with pytest.raises(QueryError, match="not a DICOM keyword"):
        parse_query(["PatientIdentifier=3"])


def test_pull_streams_each_series_into_ingest() -> None:
    pacs, ingest = FakePacs(), FakeIngest()
    with puller(pacs, ingest, token="secret") as client:
        summary = client.pull(["S1", "S2", "S1"])
    assert (summary.stored, summary.duplicates, summary.rejected) == (2, 2, [])
    assert {source for _, source in ingest.calls} == {f"pull:{BASE}"}
    retrieves = [r for r in pacs.requests if r.url.path.count("/") == 5]
    assert [r.url.path.rsplit("/", 1)[1] for r in retrieves] == ["A", "B", "C"]
    assert all("transfer-syntax=*" in r.headers["accept"] for r in retrieves)
    assert all(r.headers["authorization"] == "Bearer secret" for r in pacs.requests)


def test_progress_total_comes_from_qido_counts() -> None:
    totals: list[int | None] = []
    steps: list[int] = []

    class Progress:
        def begin(self, total: int | None) -> None:
            totals.append(total)

        def advance(self, count: int = 1) -> None:
            steps.append(count)

    with puller(FakePacs(), FakeIngest()) as client:
        client.pull(["S1", "S2"], progress=Progress())
    assert totals == [3, 1] and sum(steps) == 4


def test_find_studies_pages_through_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("node.dicom.pacs_pull._QIDO_PAGE", 1)
    pacs = FakePacs()
    pacs.series.update({"S3": {}, "S4": {}})
    with puller(pacs, FakeIngest()) as client:
        assert client.find_studies({"PatientID": "X"}) == ["S1", "S2", "S3", "S4"]
    assert all(r.url.params["PatientID"] == "X" for r in pacs.requests)


def test_server_ignoring_paging_does_not_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("node.dicom.pacs_pull._QIDO_PAGE", 1)

    def everything(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[uid_item("0020000D", "S1"), uid_item("0020000D", "S2")])

    with puller(everything, FakeIngest()) as client:
        assert client.find_studies({}) == ["S1", "S2"]


def test_falls_back_when_transfer_syntax_star_is_refused() -> None:
    pacs, ingest = FakePacs(), FakeIngest()
    pacs.refuse_any_syntax = True
    with puller(pacs, ingest) as client:
        summary = client.pull(["S2"])
    assert summary.stored == 1
    assert pacs.requests[-1].headers["accept"] == 'multipart/related; type="application/dicom"'


def test_failing_series_and_unknown_study_are_recorded_and_the_pull_goes_on() -> None:
    pacs, ingest = FakePacs(), FakeIngest()
    pacs.fail_series["A"] = 500
    with puller(pacs, ingest) as client:
        summary = client.pull(["S1", "NOPE", "S2"])
    assert summary.stored == 1 and summary.duplicates == 2
    reasons = dict(summary.rejected)
    assert "HTTP 500: boom" in reasons["study S1 series A"]
    assert "see its log" in reasons["study S1 series A"]
    assert "not found" in reasons["study NOPE"]


def test_refused_credentials_raise() -> None:
    pacs = FakePacs()
    pacs.status_for_all = 401
    with puller(pacs, FakeIngest()) as client, pytest.raises(RemoteSourceError) as caught:
        client.pull(["S1"])
    assert caught.value.status_code == 401
    assert "--token" in str(caught.value)


def test_unreachable_server_raises() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with puller(refuse, FakeIngest()) as client, pytest.raises(RemoteSourceError, match="--from"):
        client.find_studies({"PatientID": "X"})


def test_timeout_mid_stream_rejects_the_series() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/series"):
            return httpx.Response(200, json=[uid_item("0020000E", "A")])
        body, content_type = multipart_body([CT, MR])

        def stream() -> Iterator[bytes]:
            yield body[: len(CT) + 300]  # the first part and the next delimiter
            raise httpx.ReadTimeout("timed out", request=request)

        return httpx.Response(200, headers={"Content-Type": content_type}, content=stream())

    ingest = FakeIngest()
    with puller(slow, ingest, timeout=7) as client:
        summary = client.pull(["S1"])
    assert summary.stored == 1
    ((label, reason),) = summary.rejected
    assert label == "study S1 series A" and "7 s" in reason and "after 1 instance" in reason


def test_basic_auth_and_credentials_in_url_are_not_shown() -> None:
    pacs = FakePacs()
    client = PacsPuller(
        FakeIngest(),  # type: ignore[arg-type]
        "https://alice:pw@pacs.example/dicom-web/",
        max_instance_bytes=1 << 20,
        basic_auth=("bob", "pw2"),
        transport=httpx.MockTransport(pacs),
    )
    with client:
        client.pull(["S2"])
    assert client.url == BASE
    assert pacs.requests[0].headers["authorization"].startswith("Basic ")


def test_oversized_part_rejects_the_series() -> None:
    ingest = FakeIngest()
    client = PacsPuller(
        ingest,  # type: ignore[arg-type]
        BASE,
        max_instance_bytes=1000,
        transport=httpx.MockTransport(FakePacs()),
    )
    with client:
        summary = client.pull(["S2"])
    assert summary.stored == 0 and len(summary.rejected) == 1
