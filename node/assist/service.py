"""One object holding every AI-assistance service of a node."""

from __future__ import annotations

from node.annotate import AnnotationService
from node.assist.project_settings import SettingsService
from node.assist.proposals import ProposalService
from node.assist.runner import AssistRunner
from node.assist.scores import ScoreService
from node.assist.tracking import TrackingService
from node.store import InstanceStore

__all__ = ["AssistService"]


class AssistService:
    """Settings, drafts, runs, ranking and tracking, over the annotation services' unit of work.

    Parameters
    ----------
    annotation
        The node's annotation services (drafts become annotations through them).
    store
        The instance store the runner reads images from.
    """

    def __init__(self, annotation: AnnotationService, store: InstanceStore) -> None:
        work = annotation.work
        self.settings = SettingsService(work)
        self.proposals = ProposalService(work, annotation.revisions)
        self.runner = AssistRunner(work, store, annotation.guidelines)
        self.scores = ScoreService(work)
        self.tracking = TrackingService(work)
