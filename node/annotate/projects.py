"""Annotation projects: a query over stored series, a guideline version, k readers per task.

Creating a project turns every matching series into a task and assigns each
task ``k`` distinct readers, balancing the load: each task takes the ``k``
least-loaded readers, ties broken by rotating through the reader list, so ``n``
readers over ``t`` tasks each get ``t·k/n`` tasks (± 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from node.annotate.guidelines import GuidelineRegistry
from node.annotate.records import (
    MemberRole,
    ProjectRecord,
    ReaderStatus,
    ReviewStatus,
    TaskStatus,
)
from node.annotate.slices import series_slices
from node.annotate.unit_of_work import UnitOfWork
from node.errors import NotFoundError, ProjectExistsError, ProjectSetupError
from node.store import InstanceStore
from node.store.annotation_tables import (
    GuidelineVersionRow,
    ProjectMemberRow,
    ProjectRow,
    TaskReaderRow,
    TaskRow,
)
from node.store.schema import SeriesRow, StudyRow

__all__ = ["ProjectService", "ProjectSpec", "SeriesQuery", "assign_readers"]


@dataclass(frozen=True)
class SeriesQuery:
    """Which stored series become tasks; empty fields match everything.

    ``series_description`` matches case-insensitively as a substring, or as a
    DICOM wildcard pattern when it contains ``*`` or ``?``. Dates are
    ``YYYYMMDD`` or ``YYYY-MM-DD``, inclusive. ``series_instance_uids``, when
    given, keeps only those stored series (calibration projects name theirs).
    """

    modality: str = ""
    study_date_from: str = ""
    study_date_to: str = ""
    series_description: str = ""
    series_instance_uids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form, as stored with the project."""
        data: dict[str, Any] = {
            "modality": self.modality,
            "study_date_from": self.study_date_from,
            "study_date_to": self.study_date_to,
            "series_description": self.series_description,
        }
        if self.series_instance_uids:
            data["series_instance_uids"] = list(self.series_instance_uids)
        return data


@dataclass(frozen=True)
class ProjectSpec:
    """What an admin asks for when creating a project."""

    name: str
    guideline_name: str
    guideline_version: str
    query: SeriesQuery
    readers: tuple[str, ...]
    readers_per_task: int | None = None
    reviewers: tuple[str, ...] = field(default_factory=tuple)


def assign_readers(readers: Sequence[str], tasks: int, k: int) -> list[tuple[str, ...]]:
    """Assign ``k`` distinct readers to each of ``tasks`` tasks, balancing the load."""
    load = dict.fromkeys(readers, 0)
    order = list(readers)
    assignments = []
    for t in range(tasks):
        rotation = {name: (i - t) % len(order) for i, name in enumerate(order)}
        chosen = sorted(order, key=lambda name: (load[name], rotation[name]))[:k]
        for name in chosen:
            load[name] += 1
        assignments.append(tuple(sorted(chosen, key=order.index)))
    return assignments


def _date(value: str, what: str) -> str:
    digits = value.replace("-", "")
    if value and not (len(digits) == 8 and digits.isdigit()):
        raise ProjectSetupError(f"{what} {value!r} is not a date; use YYYY-MM-DD or YYYYMMDD")
    return digits


def _like(pattern: str) -> str:
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if "*" in pattern or "?" in pattern:
        return escaped.replace("*", "%").replace("?", "_")
    return f"%{escaped}%"


class ProjectService:
    """Creates projects and lists them."""

    def __init__(
        self,
        work: UnitOfWork,
        store: InstanceStore,
        guidelines: GuidelineRegistry,
        *,
        user_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self._work = work
        self._store = store
        self._guidelines = guidelines
        self._user_exists = user_exists

    def _matching_series(self, query: SeriesQuery) -> list[tuple[str, str, str, str]]:
        date_from = _date(query.study_date_from, "study_date_from")
        date_to = _date(query.study_date_to, "study_date_to")
        statement = (
            select(
                SeriesRow.series_instance_uid,
                SeriesRow.study_instance_uid,
                SeriesRow.modality,
                SeriesRow.series_description,
            )
            .join(StudyRow, StudyRow.study_instance_uid == SeriesRow.study_instance_uid)
            .order_by(StudyRow.study_date, SeriesRow.study_instance_uid, SeriesRow.series_number)
        )
        if query.modality:
            statement = statement.where(SeriesRow.modality == query.modality.upper())
        if date_from:
            statement = statement.where(StudyRow.study_date >= date_from)
        if date_to:
            statement = statement.where(StudyRow.study_date <= date_to)
        if query.series_instance_uids:
            statement = statement.where(
                SeriesRow.series_instance_uid.in_(query.series_instance_uids)
            )
        if query.series_description:
            statement = statement.where(
                func.lower(SeriesRow.series_description).like(
                    _like(query.series_description), escape="\\"
                )
            )
        with self._work.read() as session:
            return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]

    def _check_people(self, spec: ProjectSpec, k: int) -> None:
        if not spec.readers:
            raise ProjectSetupError("a project needs readers; list their usernames in 'readers'")
        if len(set(spec.readers)) != len(spec.readers):
            raise ProjectSetupError("a reader is listed twice in 'readers'")
        if k < 1 or k > len(spec.readers):
            raise ProjectSetupError(
                f"readers_per_task is {k} but the project has {len(spec.readers)} reader(s); "
                "add readers or lower readers_per_task"
            )
        if self._user_exists is not None:
            unknown = [u for u in (*spec.readers, *spec.reviewers) if not self._user_exists(u)]
            if unknown:
                raise ProjectSetupError(
                    f"no user named {', '.join(unknown)} on this node; create them first "
                    "('harmonia-node user create')"
                )

    def create(self, spec: ProjectSpec, *, created_by: str) -> ProjectRecord:
        """Create the project, one task per matching series, readers assigned.

        Raises
        ------
        NotFoundError
            When the guideline version is not loaded.
        ProjectExistsError
            When the name is taken.
        ProjectSetupError
            When no series matches, or the readers cannot fill ``k`` per task.
        """
        if not spec.name.strip():
            raise ProjectSetupError("a project needs a name")
        version = self._guidelines.get(spec.guideline_name, spec.guideline_version)
        k = spec.readers_per_task or version.guideline.readers_per_task
        self._check_people(spec, k)
        with self._work.read() as session:
            if session.execute(select(ProjectRow.id).where(ProjectRow.name == spec.name)).first():
                raise ProjectExistsError(f"a project named {spec.name!r} already exists")
        series = []
        for series_uid, study_uid, modality, description in self._matching_series(spec.query):
            try:
                slices = series_slices(self._store, study_uid, series_uid)
            except NotFoundError:
                continue  # every instance still quarantined
            series.append((series_uid, study_uid, modality, description, slices))
        if not series:
            raise ProjectSetupError(
                f"no stored series matches the query {spec.query.to_json()}; check the "
                "modality, dates and description, or ingest the studies first"
            )
        assignments = assign_readers(spec.readers, len(series), k)
        now = self._work.now()
        with self._work.write() as session:
            if session.execute(select(ProjectRow.id).where(ProjectRow.name == spec.name)).first():
                raise ProjectExistsError(f"a project named {spec.name!r} already exists")
            project = ProjectRow(
                name=spec.name,
                guideline_version_id=version.id,
                readers_per_task=k,
                query=json.dumps(spec.query.to_json(), sort_keys=True),
                created_by=created_by[:128],
                created_at=now,
            )
            session.add(project)
            try:
                session.flush()
            except IntegrityError:  # another process created it between our check and insert
                raise ProjectExistsError(f"a project named {spec.name!r} already exists") from None
            for username in spec.readers:
                session.add(
                    ProjectMemberRow(project_id=project.id, username=username, role="reader")
                )
            for username in spec.reviewers:
                session.add(
                    ProjectMemberRow(project_id=project.id, username=username, role="reviewer")
                )
            for (series_uid, study_uid, modality, description, slices), readers in zip(
                series, assignments, strict=True
            ):
                task = TaskRow(
                    project_id=project.id,
                    series_instance_uid=series_uid,
                    study_instance_uid=study_uid,
                    modality=modality,
                    description=description,
                    slices=json.dumps([s.to_json() for s in slices]),
                    status=TaskStatus.OPEN.value,
                    priority=0,
                    round=0,
                    created_at=now,
                )
                session.add(task)
                session.flush()
                for username in readers:
                    session.add(
                        TaskReaderRow(
                            task_id=task.id,
                            username=username,
                            status=ReaderStatus.ASSIGNED.value,
                            review_status=ReviewStatus.PENDING.value,
                            review_reason="",
                        )
                    )
            self._work.record(
                session,
                actor=created_by,
                action="created",
                target_type="project",
                target_id=spec.name,
                detail={"tasks": len(series), "guideline": version.guideline.key},
            )
            return self._record(session, project)

    def _record(self, session: Session, project: ProjectRow) -> ProjectRecord:
        members = session.execute(
            select(ProjectMemberRow.username, ProjectMemberRow.role)
            .where(ProjectMemberRow.project_id == project.id)
            .order_by(ProjectMemberRow.username)
        ).all()
        guideline = session.get(GuidelineVersionRow, project.guideline_version_id)
        assert guideline is not None
        counts = dict(
            session.execute(
                select(TaskRow.status, func.count())
                .where(TaskRow.project_id == project.id)
                .group_by(TaskRow.status)
            ).all()
        )
        query: dict[str, Any] = json.loads(project.query)
        return ProjectRecord(
            id=project.id,
            name=project.name,
            guideline_name=guideline.name,
            guideline_version=guideline.version,
            readers_per_task=project.readers_per_task,
            query=query,
            readers=tuple(u for u, r in members if r == MemberRole.READER),
            reviewers=tuple(u for u, r in members if r == MemberRole.REVIEWER),
            created_by=project.created_by,
            created_at=project.created_at,
            task_count=sum(counts.values()),
            status_counts=counts,
        )

    def get(self, name: str) -> ProjectRecord:
        """One project by name, or :class:`NotFoundError`."""
        with self._work.read() as session:
            project = session.execute(
                select(ProjectRow).where(ProjectRow.name == name)
            ).scalar_one_or_none()
            if project is None:
                raise NotFoundError(f"no project named {name!r} on this node")
            return self._record(session, project)

    def list(self) -> list[ProjectRecord]:
        """Every project, newest first."""
        with self._work.read() as session:
            projects = session.execute(
                select(ProjectRow).order_by(ProjectRow.created_at.desc(), ProjectRow.id.desc())
            ).scalars()
            return [self._record(session, p) for p in projects]
