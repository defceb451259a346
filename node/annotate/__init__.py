"""The annotation domain: guidelines, projects, tasks, annotations, review, consensus.

No FastAPI here: the HTTP routes in ``node.api.routes`` parse, call these
services and return. :class:`AnnotationService` bundles the services over one
:class:`UnitOfWork` (one transaction per user action, audited inside it).
"""

from node.annotate.adjudication import AdjudicationCase, AdjudicationService
from node.annotate.agreement import LabelAgreement, measure_agreement
from node.annotate.consensus import build_consensus
from node.annotate.diff import diff_payloads
from node.annotate.guidelines import GuidelineRegistry, parse_guideline
from node.annotate.projects import ProjectService, ProjectSpec, SeriesQuery, assign_readers
from node.annotate.records import (
    AgreementFigure,
    AnnotationRecord,
    ConsensusRecord,
    GuidelineVersion,
    MemberRole,
    ProjectRecord,
    ReaderPart,
    ReaderStatus,
    ReviewDecision,
    ReviewStatus,
    RevisionRecord,
    TaskRecord,
    TaskSlice,
    TaskStatus,
    WorklistItem,
)
from node.annotate.review import ReviewItem, ReviewService
from node.annotate.revisions import RevisionService
from node.annotate.service import AnnotationService
from node.annotate.tasks import TaskService, TaskView, Worklist
from node.annotate.unit_of_work import AuditSink, UnitOfWork
from node.annotate.upgrade import ProjectUpgrade, RereviewPart, UpgradeResult
from node.annotate.validation import validate_annotation

__all__ = [
    "AdjudicationCase",
    "AdjudicationService",
    "AgreementFigure",
    "AnnotationRecord",
    "AnnotationService",
    "AuditSink",
    "ConsensusRecord",
    "GuidelineRegistry",
    "GuidelineVersion",
    "LabelAgreement",
    "MemberRole",
    "ProjectRecord",
    "ProjectService",
    "ProjectSpec",
    "ProjectUpgrade",
    "ReaderPart",
    "ReaderStatus",
    "RereviewPart",
    "ReviewDecision",
    "ReviewItem",
    "ReviewService",
    "ReviewStatus",
    "RevisionRecord",
    "RevisionService",
    "SeriesQuery",
    "TaskRecord",
    "TaskService",
    "TaskSlice",
    "TaskStatus",
    "TaskView",
    "UnitOfWork",
    "UpgradeResult",
    "Worklist",
    "WorklistItem",
    "assign_readers",
    "build_consensus",
    "diff_payloads",
    "measure_agreement",
    "parse_guideline",
    "validate_annotation",
]
