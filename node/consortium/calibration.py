"""Calibration sets on the node: fetch and verify, generate and ingest, annotate, upload.

* :func:`fetch_calibration_sets` lists the coordinator's calibration sets over
  mutual TLS and verifies each ``calibration-set`` envelope against the pinned
  guideline-signing key (a tampered set is refused, nothing of it used).
* :func:`install_calibration_set` generates every case's phantom series from
  its recipe (identical at every site; no patient data by construction),
  passes every image through :func:`shared.calibration.check_calibration_dataset`,
  ingests it, and creates a calibration project over exactly those series
  (:class:`node.annotate.ProjectService`). The set and the case → series map
  are kept under ``DATA_DIR/calibration/<set id>.json``.
* :func:`calibration_upload` collects the completed readers' annotations of a
  calibration project — readers as pseudonyms ``r1, r2, …`` (sorted
  usernames), comments dropped, with the roster of who completed each case
  (a reader who found nothing still read the case) — and :func:`upload_calibration` releases them
  through the egress gate (kind ``calibration_annotations``) and posts the
  gate's bytes to the coordinator's site API.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Engine, select

from node.annotate import AnnotationService, ProjectSpec, ReaderStatus, SeriesQuery
from node.annotate.queries import annotations_of
from node.consortium.enrollment import coordinator_json
from node.consortium.errors import CalibrationRefusedError, CoordinatorRefusedError
from node.consortium.membership import MembershipFiles
from node.consortium.site_client import site_client
from node.dicom.ingest import IngestService
from node.egress import EgressGate, KindRules, MessageKind, Vocabulary, vocabulary_of
from node.store.annotation_tables import ProjectRow, TaskReaderRow, TaskRow
from shared.calibration import (
    RELEASE_KIND,
    CalibrationDataError,
    CalibrationError,
    CalibrationSet,
    check_calibration_dataset,
    generate_case,
)
from shared.crypto import PublicKey, SignatureError, verify
from shared.phantoms import dataset_to_bytes

__all__ = [
    "CALIBRATION_PATH",
    "InstalledCalibration",
    "calibration_dir",
    "calibration_rules",
    "calibration_upload",
    "fetch_calibration_sets",
    "install_calibration_set",
    "load_installed",
    "upload_calibration",
    "verify_calibration_set",
]

CALIBRATION_PATH = "/api/v1/site/calibration"
INGEST_SOURCE = "calibration"


def calibration_dir(data_dir: Path) -> Path:
    """Where the node keeps its installed calibration sets."""
    return data_dir / "calibration"


def verify_calibration_set(envelope: object, trusted: PublicKey, *, set_id: str) -> CalibrationSet:
    """The calibration set a signed envelope carries, once signature and identity hold.

    Raises
    ------
    CalibrationRefusedError
        A bad or foreign signature, a malformed set, or another set than ``set_id``.
    """
    try:
        payload = verify(envelope, [trusted], kind=RELEASE_KIND)
        calibration = CalibrationSet.from_json(payload)
    except (SignatureError, CalibrationError) as exc:
        raise CalibrationRefusedError(f"refused calibration set {set_id}: {exc}") from exc
    signed_version = envelope.get("version") if isinstance(envelope, dict) else None
    if calibration.set_id != set_id or signed_version != set_id:
        raise CalibrationRefusedError(
            f"refused calibration set {set_id}: it is signed as {calibration.set_id}"
        )
    return calibration


@contextlib.contextmanager
def _client(files: MembershipFiles, client: httpx.Client | None) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    with site_client(files) as fresh:
        yield fresh


def _call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    url = f"{http.base_url}{path}"
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise CoordinatorRefusedError(
            f"cannot reach the coordinator's site API at {url}: {exc}", source=url
        ) from exc
    return coordinator_json(response, url)


def fetch_calibration_sets(
    files: MembershipFiles, *, client: httpx.Client | None = None
) -> list[CalibrationSet]:
    """Every calibration set the coordinator publishes, each verified.

    Raises
    ------
    CalibrationRefusedError
        A set failed verification (nothing is returned then).
    CoordinatorRefusedError
        The coordinator is unreachable or refused.
    """
    files.membership()
    trusted = files.pinned_signing_key()
    sets = []
    with _client(files, client) as http:
        listing = _call(http, "GET", CALIBRATION_PATH).get("sets")
        if not isinstance(listing, list):
            raise CoordinatorRefusedError(
                "the coordinator's calibration list is malformed", source=str(http.base_url)
            )
        for entry in listing:
            set_id = str(entry.get("set_id", "")) if isinstance(entry, dict) else ""
            envelope = _call(http, "GET", f"{CALIBRATION_PATH}/{quote(set_id, safe='')}")
            sets.append(verify_calibration_set(envelope, trusted, set_id=set_id))
    return sets


@dataclass(frozen=True)
class InstalledCalibration:
    """A calibration set installed on this node: its project and case → series map."""

    calibration: CalibrationSet
    project: str
    cases: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """As stored."""
        return {"set": self.calibration.to_json(), "project": self.project, "cases": self.cases}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstalledCalibration:
        """Read back :meth:`to_json` output."""
        return cls(CalibrationSet.from_json(data["set"]), str(data["project"]), dict(data["cases"]))


def load_installed(data_dir: Path, set_id: str) -> InstalledCalibration:
    """The installed calibration set ``set_id``.

    Raises
    ------
    CalibrationRefusedError
        It was never installed here.
    """
    path = calibration_dir(data_dir) / f"{set_id}.json"
    try:
        return InstalledCalibration.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CalibrationRefusedError(
            f"calibration set {set_id} is not installed on this node; run "
            "'harmonia-node calibration fetch' first"
        ) from None


def install_calibration_set(
    calibration: CalibrationSet,
    *,
    data_dir: Path,
    ingest: IngestService,
    annotation: AnnotationService,
    readers: Sequence[str],
    reviewers: Sequence[str] = (),
    readers_per_task: int | None = None,
    by: str = "calibration",
) -> InstalledCalibration:
    """Generate, check and ingest the set's phantoms, and create its calibration project.

    The project is called ``calibration-<set id>``. Installing a set twice
    returns the first installation.

    Raises
    ------
    CalibrationRefusedError
        An image failed the calibration data check, or was not stored.
    """
    path = calibration_dir(data_dir) / f"{calibration.set_id}.json"
    if path.exists():
        return load_installed(data_dir, calibration.set_id)
    annotation.guidelines.get(calibration.guideline, calibration.guideline_version)
    cases: dict[str, str] = {}
    for case in calibration.cases:
        series = generate_case(case)
        generated = frozenset(series.sop_instance_uids)
        stored = ""
        for ds in series.datasets():
            try:
                check_calibration_dataset(ds, generated_uids=generated)
            except CalibrationDataError as exc:
                raise CalibrationRefusedError(str(exc)) from exc
            outcome = ingest.ingest_bytes(dataset_to_bytes(ds), source=INGEST_SOURCE)
            if not outcome.accepted or not outcome.stored_series_instance_uid:
                raise CalibrationRefusedError(
                    f"calibration case {case.case_id} could not be stored: {outcome}"
                )
            stored = outcome.stored_series_instance_uid
        cases[case.case_id] = stored
    project = f"calibration-{calibration.set_id}"
    annotation.projects.create(
        ProjectSpec(
            name=project,
            guideline_name=calibration.guideline,
            guideline_version=calibration.guideline_version,
            query=SeriesQuery(series_instance_uids=tuple(cases.values())),
            readers=tuple(readers),
            readers_per_task=readers_per_task,
            reviewers=tuple(reviewers),
        ),
        created_by=by,
    )
    installed = InstalledCalibration(calibration, project, cases)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(installed.to_json(), sort_keys=True))
    temporary.replace(path)
    return installed


def calibration_upload(
    installed: InstalledCalibration, annotation: AnnotationService
) -> dict[str, Any]:
    """The ``calibration_annotations`` payload of a calibration project's completed readers."""
    by_series = {series: case for case, series in installed.cases.items()}
    items: list[dict[str, Any]] = []
    with annotation.work.read() as session:
        tasks = session.execute(
            select(TaskRow.id, TaskRow.series_instance_uid)
            .join(ProjectRow, ProjectRow.id == TaskRow.project_id)
            .where(ProjectRow.name == installed.project)
        ).all()
        case_of = {task_id: by_series[uid] for task_id, uid in tasks if uid in by_series}
        parts = session.execute(
            select(TaskReaderRow.task_id, TaskReaderRow.username, TaskReaderRow.status).where(
                TaskReaderRow.task_id.in_(list(case_of))
            )
        ).all()
        usernames = sorted({username for _, username, _ in parts})
        pseudonym = {name: f"r{index + 1}" for index, name in enumerate(usernames)}
        done = {(t, u) for t, u, status in parts if status == ReaderStatus.DONE.value}
        for task_id, case in sorted(case_of.items(), key=lambda item: item[1]):
            for record in annotations_of(session, task_id):
                if (task_id, record.reader) in done:
                    annotation_payload = {**record.payload, "comment": ""}
                    items.append(
                        {
                            "case": case,
                            "reader": pseudonym[record.reader],
                            "annotation": annotation_payload,
                        }
                    )
    roster: dict[str, list[str]] = {}
    for task_id, username in sorted(done):
        if task_id in case_of:
            roster.setdefault(case_of[task_id], []).append(pseudonym[username])
    return {
        "calibration_set": installed.calibration.set_id,
        "guideline": {
            "name": installed.calibration.guideline,
            "version": installed.calibration.guideline_version,
        },
        "annotations": items,
        "readers": {case: sorted(names) for case, names in sorted(roster.items())},
    }


def calibration_rules(installed: InstalledCalibration, annotation: AnnotationService) -> KindRules:
    """Egress rules that know this set's cases and its guideline's vocabulary."""
    guideline = annotation.guidelines.get(
        installed.calibration.guideline, installed.calibration.guideline_version
    ).guideline

    def vocabulary(name: str, version: str) -> Vocabulary | None:
        if (name, version) != (guideline.name, guideline.version):
            return None
        return vocabulary_of(guideline)

    def cases(set_id: str) -> frozenset[str] | None:
        return installed.calibration.case_ids if set_id == installed.calibration.set_id else None

    return KindRules(vocabulary=vocabulary, calibration_cases=cases)


def upload_calibration(
    files: MembershipFiles,
    installed: InstalledCalibration,
    annotation: AnnotationService,
    engine: Engine,
    *,
    ledger_key: bytes,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Release the calibration annotations through the egress gate and post them.

    ``ledger_key`` is the node's egress ledger key (``runtime.egress_key``).

    Returns the coordinator's answer. Raises the gate's
    :class:`~node.errors.EgressError` (nothing sent) or
    :class:`CoordinatorRefusedError`.
    """
    membership = files.membership()
    payload = calibration_upload(installed, annotation)
    gate = EgressGate(
        engine,
        site=membership.site,
        rules=calibration_rules(installed, annotation),
        ledger_key=ledger_key,
    )
    path = f"{CALIBRATION_PATH}/{quote(installed.calibration.set_id, safe='')}/annotations"
    destination = f"{membership.coordinator_url.rstrip('/')}{path}"
    body = gate.release(MessageKind.CALIBRATION_ANNOTATIONS.value, payload, destination=destination)
    with _client(files, client) as http:
        return _call(http, "POST", path, content=body, headers={"Content-Type": "application/json"})
