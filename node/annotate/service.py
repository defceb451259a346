"""One object holding every annotation service of a node, built over one unit of work."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from node.annotate.adjudication import AdjudicationService
from node.annotate.guidelines import GuidelineRegistry
from node.annotate.projects import ProjectService
from node.annotate.review import ReviewService
from node.annotate.revisions import RevisionService
from node.annotate.tasks import TaskService
from node.annotate.unit_of_work import AuditSink, UnitOfWork
from node.annotate.upgrade import ProjectUpgrade
from node.store import InstanceStore

__all__ = ["AnnotationService"]


class AnnotationService:
    """Guidelines, projects, tasks, revisions, review and adjudication of one node.

    Parameters
    ----------
    engine
        The node's migrated database.
    store
        The instance store (series become tasks).
    audit
        The audit log every action is recorded in; ``None`` records nothing.
    user_exists
        Checks that a username names a local user (project readers, reviewers).
    """

    def __init__(
        self,
        engine: Engine,
        store: InstanceStore,
        *,
        audit: AuditSink | None = None,
        user_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self.work = UnitOfWork(engine, audit=audit)
        self.guidelines = GuidelineRegistry(self.work)
        self.projects = ProjectService(self.work, store, self.guidelines, user_exists=user_exists)
        self.tasks = TaskService(self.work, self.guidelines)
        self.revisions = RevisionService(self.work, self.guidelines)
        self.review = ReviewService(self.work)
        self.adjudication = AdjudicationService(self.work, self.guidelines)
        self.upgrades = ProjectUpgrade(self.work, self.guidelines)
