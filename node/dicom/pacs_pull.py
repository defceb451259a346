"""Pulling studies from a PACS over DICOMweb (QIDO-RS to find, WADO-RS to retrieve).

The node only ever connects *out*, so where the PACS cannot push, the node
pulls. :class:`PacsPuller` finds studies by UID or by a QIDO-RS query and
retrieves them **series by series** as streamed ``multipart/related``
responses, asking for the stored transfer syntax (``transfer-syntax=*``) so
the PACS does not transcode.

Why per series rather than per study or per instance: each part is parsed as
it arrives (:class:`~node.dicom.multipart.MultipartRelatedParser`), so memory
stays at one instance whatever the response size; a failing series (a server
error, a timeout, a broken body) costs only that series, not the study; and
QIDO's per-series instance counts give the progress bar its total. Per
instance retrieval would add one round trip per instance for nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx
from pydicom.datadict import tag_for_keyword

from node.dicom.import_summary import ImportProgress, ImportSummary, NullProgress
from node.dicom.ingest import IngestService
from node.dicom.multipart import MultipartRelatedParser, parse_multipart_related_type
from node.errors import NodeError, QueryError, RemoteSourceError

__all__ = ["PacsPuller", "parse_query"]

_log = logging.getLogger(__name__)

_DICOM_JSON = "application/dicom+json"
_RETRIEVE_ANY_SYNTAX = 'multipart/related; type="application/dicom"; transfer-syntax=*'
_RETRIEVE_DEFAULT = 'multipart/related; type="application/dicom"'
_STUDY_UID = "0020000D"
_SERIES_UID = "0020000E"
_SERIES_INSTANCES = "00201209"  # NumberOfSeriesRelatedInstances
_QIDO_PAGE = 200
_QIDO_PARAMETERS = frozenset({"limit", "offset", "fuzzymatching", "includefield"})
_TAG = re.compile(r"^[0-9A-Fa-f]{8}$")


def parse_query(pairs: Sequence[str]) -> dict[str, str]:
    """Turn ``KEY=VALUE`` strings into QIDO-RS query parameters.

    Keys are DICOM keywords (``PatientID``, ``StudyDate``,
    ``ModalitiesInStudy``...) or tags as 8 hex digits.

    Raises
    ------
    QueryError
        A pair without ``=``, or an unknown keyword.
    """
    query: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise QueryError(
                f"query {pair!r} is not KEY=VALUE (e.g. PatientID=12345)", parameter=pair
            )
        if key not in _QIDO_PARAMETERS and not _TAG.match(key) and tag_for_keyword(key) is None:
            raise QueryError(
                f"{key!r} is not a DICOM keyword or tag; use e.g. PatientID, StudyDate, "
                "ModalitiesInStudy, AccessionNumber or 00100020",
                parameter=key,
            )
        query[key] = value.strip()
    return query


class PacsPuller:
    """Finds and retrieves studies from one DICOMweb server into the node's ingest.

    Parameters
    ----------
    ingest
        Receives every retrieved instance (provenance ``pull:<url>``).
    base_url
        The DICOMweb root, e.g. ``https://pacs.example/dicom-web``.
    max_instance_bytes
        A larger part aborts its series (rejected, 0xA700).
    token
        Sent as ``Authorization: Bearer``.
    basic_auth
        ``(user, password)`` for HTTP Basic authentication.
    timeout
        Seconds to connect, and to wait for each chunk of a response.
    verify
        TLS verification: ``True``, or a CA bundle path for a hospital CA.
    transport
        For tests: an ``httpx.MockTransport``.
    """

    def __init__(
        self,
        ingest: IngestService,
        base_url: str,
        *,
        max_instance_bytes: int,
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeout: float = 60.0,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._ingest = ingest
        url = httpx.URL(base_url.rstrip("/"))
        self.url = str(url.copy_with(username=None, password=None))
        self._max_instance_bytes = max_instance_bytes
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=str(url) + "/",
            auth=httpx.BasicAuth(*basic_auth) if basic_auth else None,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> PacsPuller:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def find_studies(self, query: Mapping[str, str]) -> list[str]:
        """Study Instance UIDs matching a QIDO-RS query, paging through all results.

        Raises
        ------
        RemoteSourceError
            The server is unreachable, refuses our credentials, or fails the query.
        """
        found: dict[str, None] = {}
        offset = 0
        while True:
            params = {**query, "limit": str(_QIDO_PAGE), "offset": str(offset)}
            response = self._get_json("studies", params, what="the study query")
            page = [
                uid
                for uid in (_first(item, _STUDY_UID) for item in response)
                if isinstance(uid, str)
            ]
            new = [uid for uid in page if uid not in found]
            found.update(dict.fromkeys(new))
            # A server that ignores limit/offset returns everything every time: stop then.
            if len(response) < _QIDO_PAGE or not new:
                return list(found)
            offset += len(response)

    def pull(
        self, study_uids: Sequence[str], *, progress: ImportProgress | None = None
    ) -> ImportSummary:
        """Retrieve each study and ingest every instance.

        Failures of one study or series are recorded in the summary and the
        pull goes on; failures that doom every request (unreachable server,
        refused credentials) raise.

        Raises
        ------
        RemoteSourceError
            The server cannot be reached or refuses our credentials.
        """
        progress = progress or NullProgress()
        summary = ImportSummary()
        for study_uid in dict.fromkeys(study_uids):
            self._pull_study(study_uid, summary, progress)
        return summary

    def _pull_study(self, study_uid: str, summary: ImportSummary, progress: ImportProgress) -> None:
        label = f"study {study_uid}"
        try:
            series = self._get_json(f"studies/{study_uid}/series", {}, what=label)
        except _ItemFetchError as exc:
            summary.reject(label, str(exc))
            return
        if not series:
            summary.reject(label, "study not found on the PACS (no series)")
            return
        counts = [_count(_first(item, _SERIES_INSTANCES)) for item in series]
        progress.begin(None if None in counts else sum(c or 0 for c in counts))
        for item in series:
            series_uid = _first(item, _SERIES_UID)
            if not isinstance(series_uid, str):
                summary.reject(label, "the PACS listed a series without a Series Instance UID")
                continue
            self._pull_series(study_uid, series_uid, summary, progress)

    def _pull_series(
        self, study_uid: str, series_uid: str, summary: ImportSummary, progress: ImportProgress
    ) -> None:
        label = f"study {study_uid} series {series_uid}"
        source = f"pull:{self.url}"
        received = 0
        try:
            for part in self._retrieve(f"studies/{study_uid}/series/{series_uid}", label):
                received += 1
                outcome = self._ingest.ingest_bytes(part, source=source)
                summary.record(f"{label} instance {outcome.sop_instance_uid or received}", outcome)
                progress.advance()
        except _ItemFetchError as exc:
            summary.reject(label, f"{exc} (after {received} instance(s) of this series)")
        except NodeError as exc:  # a broken multipart body or an oversized part
            summary.reject(label, f"{exc} (after {received} instance(s) of this series)")

    def _retrieve(self, path: str, label: str) -> Iterator[bytes]:
        """Stream one WADO-RS retrieve, yielding each instance's bytes as it completes."""
        for accept in (_RETRIEVE_ANY_SYNTAX, _RETRIEVE_DEFAULT):
            with self._request("GET", path, headers={"Accept": accept}, what=label) as response:
                if response.status_code in (400, 406) and accept is _RETRIEVE_ANY_SYNTAX:
                    continue  # the server does not do transfer-syntax=*: take its default
                self._check(response, label)
                boundary, _ = parse_multipart_related_type(response.headers.get("content-type"))
                parser = MultipartRelatedParser(boundary, max_part_bytes=self._max_instance_bytes)
                try:
                    for chunk in response.iter_bytes():
                        for part in parser.feed(chunk):
                            yield part.body
                except httpx.TimeoutException as exc:
                    raise _ItemFetchError(
                        f"the PACS stopped sending for {self._timeout:g} s ({type(exc).__name__}); "
                        "retry, or raise --timeout for a slow PACS"
                    ) from exc
                except httpx.TransportError as exc:
                    raise _ItemFetchError(f"the connection broke mid-transfer: {exc}") from exc
                parser.close()
                return

    def _get_json(self, path: str, params: Mapping[str, str], *, what: str) -> list[Any]:
        with self._request(
            "GET", path, params=params, headers={"Accept": _DICOM_JSON}, what=what
        ) as response:
            if response.status_code in (204, 404):
                return []
            self._check(response, what)
            try:
                response.read()
                body = response.json() if response.content else []
            except (ValueError, httpx.TransportError) as exc:
                raise _ItemFetchError(f"the PACS answered {what} with invalid JSON: {exc}") from exc
        if not isinstance(body, list):
            raise _ItemFetchError(f"the PACS answered {what} with JSON that is not a list")
        return body

    @contextmanager
    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[httpx.Response]:
        """Send one request with a streamed response, closed when the block ends."""
        request = self._client.build_request(method, path, params=params, headers=headers)
        try:
            response = self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise RemoteSourceError(
                f"cannot connect to the PACS at {self.url}: {exc}; check --from, the "
                "network path and that the DICOMweb service is running",
                source=self.url,
            ) from exc
        except httpx.TimeoutException as exc:
            raise _ItemFetchError(
                f"no answer to {what} within {self._timeout:g} s; retry, or raise --timeout"
            ) from exc
        except httpx.TransportError as exc:
            raise _ItemFetchError(f"request for {what} failed: {exc}") from exc
        try:
            yield response
        finally:
            response.close()

    def _check(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status in (401, 403):
            raise RemoteSourceError(
                f"the PACS at {self.url} refused our credentials (HTTP {status}); check "
                "--token or --user and that this account may read the studies",
                source=self.url,
                status_code=status,
            )
        try:
            detail = response.read()[:200].decode("utf-8", "replace").strip()
        except httpx.TransportError:
            detail = ""
        raise _ItemFetchError(
            f"the PACS answered {what} with HTTP {status}"
            + (f": {detail}" if detail else "")
            + ("; the PACS failed, see its log" if status >= 500 else "")
        )


class _ItemFetchError(Exception):
    """One study or series could not be fetched; recorded, and the pull goes on."""


def _first(item: object, tag: str) -> object:
    """The first value of ``tag`` in one DICOM JSON object, or ``None``."""
    if not isinstance(item, dict):
        return None
    element = item.get(tag)
    values = element.get("Value") if isinstance(element, dict) else None
    return values[0] if isinstance(values, list) and values else None


def _count(value: object) -> int | None:
    """An IS value from DICOM JSON (a number, or a string of digits), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
