"""Errors raised by the hospital node.

One root, :class:`NodeError`, under :class:`shared.errors.HarmoniaError`::

    NodeError
    ├── DicomInputError                 an instance the node will not store
    │   ├── NotDicomError               not DICOM at all, or truncated       (0xC000)
    │   ├── MissingAttributeError       a required attribute is absent       (0xA900)
    │   ├── UnsupportedTransferSyntaxError                                   (0xC122)
    │   ├── InstanceTooLargeError       over the configured size limit       (0xA700)
    │   ├── StudyMismatchError          STOW to /studies/{uid} of another study (0xA900)
    │   └── SegmentationImportError     a reader's DICOM SEG that cannot become annotations (0x0110)
    ├── DeidentificationError           the profile could not be applied     (0x0110)
    ├── RelinkError                     a sealed re-identification link will not open
    ├── MultipartError                  a broken multipart/related body
    ├── UnsupportedMediaTypeError       a request body of a type the route does not take
    ├── RequestTooLargeError            a request body over the size limit
    ├── QueryError                      a QIDO/WADO parameter the node cannot honour
    ├── NotFoundError                   no such study, series, instance or frame
    ├── RenderError                     pixels that cannot be rendered as asked
    │   └── VolumeGeometryError         a series that is not one regular volume
    ├── StoreError                      the store refused or failed a write
    ├── RemoteSourceError               a PACS or DICOM peer unreachable, refusing us, failing
    ├── AuthError                       credentials missing, wrong or expired
    │   ├── InsufficientScopeError      valid credentials without the needed permission
    │   ├── CsrfError                   a cookie request without its session's CSRF token
    │   ├── AccountLockedError          too many failed sign-ins; retry later
    │   └── AccountDisabledError        an admin disabled the account
    ├── InvalidUserError                a username or role the node does not accept
    ├── UserExistsError                 a username already taken
    ├── AnnotationError                 the annotation domain refused an action
    │   ├── ValidationFailedError       an annotation breaks the guideline or the image (422)
    │   │   ├── InvalidPayloadError     malformed payload: missing field, wrong type
    │   │   ├── UnknownLabelError       label not in the task's guideline version
    │   │   ├── KindMismatchError       kind differs from the label's kind
    │   │   ├── UnknownCategoryError    classification value not a category of the label
    │   │   ├── ConfidenceOutOfScaleError  confidence outside the guideline's scale
    │   │   ├── GeometryOutOfImageError slice or coordinates outside the series
    │   │   ├── SelfIntersectingPolygonError
    │   │   ├── EmptyMaskError          a mask with no foreground pixel
    │   │   ├── DuplicateAnnotationError  same reader, label and geometry as a live one
    │   │   └── MissingRequiredLabelsError  completing without every required label
    │   ├── InvalidGuidelineError       a guideline document that breaks the schema (422)
    │   ├── GuidelineConflictError      name@version already loaded with other content (409)
    │   ├── ProjectExistsError          a project name already taken (409)
    │   ├── ProjectSetupError           a project that cannot be built as asked (422)
    │   ├── RevisionConflictError       base_revision is not the head revision (409)
    │   ├── TaskStateError              the task or reader part is in the wrong state (409)
    │   └── NotAssignedError            the caller has no part in this task or project (403)
    ├── ExportError                     an export that cannot be written as asked (409)
    ├── EgressError                     something may not leave the node (node.egress)
    │   ├── EgressRefusedError          a kind off the allowlist, or a payload off its schema (403)
    │   ├── CanaryDetectedError         identifying content found in an outbound payload (403)
    │   └── BudgetExceededError         the release would exceed the privacy budget (409)
    │       └── TrainingBudgetExceededError  a training round refused before it starts (409)
    ├── LearnError                      training or inference refused (node.learn)
    │   ├── TrainingDataError           no usable consensus for the plan's labels
    │   └── PlanMismatchError           the plan does not fit the project's guideline
    └── WeakPasswordError               a password the node will not accept

:class:`DicomInputError` and :class:`DeidentificationError` carry the PS3.18
``failure_reason`` a STOW-RS or C-STORE response reports for that instance.
The API maps each family to one HTTP status in a single exception handler.
"""

from __future__ import annotations

from datetime import datetime

from shared.errors import HarmoniaError

__all__ = [
    "FAILURE_CANNOT_UNDERSTAND",
    "FAILURE_DATASET_MISMATCH",
    "FAILURE_OUT_OF_RESOURCES",
    "FAILURE_PROCESSING",
    "FAILURE_SOP_CLASS_NOT_SUPPORTED",
    "FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED",
    "AccountDisabledError",
    "AccountLockedError",
    "AnnotationError",
    "AuthError",
    "BudgetExceededError",
    "CanaryDetectedError",
    "ConfidenceOutOfScaleError",
    "CsrfError",
    "DeidentificationError",
    "DicomInputError",
    "DuplicateAnnotationError",
    "EgressError",
    "EgressRefusedError",
    "EmptyMaskError",
    "ExportError",
    "GeometryOutOfImageError",
    "GuidelineConflictError",
    "InstanceTooLargeError",
    "InsufficientScopeError",
    "InvalidGuidelineError",
    "InvalidPayloadError",
    "InvalidUserError",
    "KindMismatchError",
    "LearnError",
    "MissingAttributeError",
    "MissingRequiredLabelsError",
    "MultipartError",
    "NodeError",
    "NotAssignedError",
    "NotDicomError",
    "NotFoundError",
    "PlanMismatchError",
    "ProjectExistsError",
    "ProjectSetupError",
    "QueryError",
    "RelinkError",
    "RemoteSourceError",
    "RenderError",
    "RequestTooLargeError",
    "RevisionConflictError",
    "SegmentationImportError",
    "SelfIntersectingPolygonError",
    "StoreError",
    "StudyMismatchError",
    "TaskStateError",
    "TrainingBudgetExceededError",
    "TrainingDataError",
    "UnknownCategoryError",
    "UnknownLabelError",
    "UnsupportedMediaTypeError",
    "UnsupportedTransferSyntaxError",
    "UserExistsError",
    "ValidationFailedError",
    "VolumeGeometryError",
    "WeakPasswordError",
]

# PS3.18 Table 10.5.3-1 / PS3.4 Annex B failure reasons.
FAILURE_PROCESSING = 0x0110
FAILURE_SOP_CLASS_NOT_SUPPORTED = 0x0122
FAILURE_OUT_OF_RESOURCES = 0xA700
FAILURE_DATASET_MISMATCH = 0xA900
FAILURE_CANNOT_UNDERSTAND = 0xC000
FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122


class NodeError(HarmoniaError):
    """Base class of every error the hospital node raises deliberately."""


class DicomInputError(NodeError):
    """An incoming instance the node refuses to store.

    Parameters
    ----------
    message
        What is wrong and what the sender can do about it.
    failure_reason
        The PS3.18 FailureReason reported to a STOW-RS or C-STORE peer.
    sop_class_uid, sop_instance_uid
        Identify the instance in the failure report when they could be read.
    """

    default_failure_reason = FAILURE_CANNOT_UNDERSTAND

    def __init__(
        self,
        message: str,
        *,
        failure_reason: int | None = None,
        sop_class_uid: str | None = None,
        sop_instance_uid: str | None = None,
    ) -> None:
        super().__init__(message)
        self.failure_reason = (
            failure_reason if failure_reason is not None else self.default_failure_reason
        )
        self.sop_class_uid = sop_class_uid
        self.sop_instance_uid = sop_instance_uid


class NotDicomError(DicomInputError):
    """The bytes are not a DICOM Part 10 file, or the file is truncated."""


class MissingAttributeError(DicomInputError):
    """A Type 1 attribute the node needs (SOPInstanceUID, SOPClassUID...) is absent."""

    default_failure_reason = FAILURE_DATASET_MISMATCH

    def __init__(self, message: str, *, attribute: str, **context: str | None) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.attribute = attribute


class UnsupportedTransferSyntaxError(DicomInputError):
    """The transfer syntax is one the node cannot decode or store."""

    default_failure_reason = FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED


class InstanceTooLargeError(DicomInputError):
    """One instance is larger than ``max_instance_bytes``."""

    default_failure_reason = FAILURE_OUT_OF_RESOURCES


class StudyMismatchError(DicomInputError):
    """STOW-RS to ``/studies/{uid}`` carried an instance of a different study."""

    default_failure_reason = FAILURE_DATASET_MISMATCH


class SegmentationImportError(DicomInputError):
    """A DICOM SEG sent by a reader that cannot become annotation revisions.

    The series it references is not a task of the sender's, a segment label is
    not a mask label of the task's guideline, or its frames cannot be placed on
    the series' slices. The message says which and what to change.
    """

    default_failure_reason = FAILURE_PROCESSING


class DeidentificationError(NodeError):
    """The de-identification profile could not be applied to an instance."""

    failure_reason = FAILURE_PROCESSING


class RelinkError(NodeError):
    """A sealed re-identification link cannot be opened: wrong key, or tampered with."""


class MultipartError(NodeError):
    """A multipart/related request body is malformed."""


class UnsupportedMediaTypeError(NodeError):
    """The request body's media type is not one the endpoint accepts."""


class RequestTooLargeError(NodeError):
    """A request body exceeds the configured limit."""

    def __init__(self, message: str, *, limit_bytes: int) -> None:
        super().__init__(message)
        self.limit_bytes = limit_bytes


class QueryError(NodeError):
    """A query or retrieve parameter is malformed or unsupported."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class ExportError(NodeError):
    """An export cannot be written as asked (e.g. its output folder is not empty)."""


class EgressError(NodeError):
    """Base class of the egress gate's refusals: nothing was sent and nothing was charged.

    Parameters
    ----------
    message
        What was refused and what to do; it never quotes payload values.
    kind
        The message kind that was to be released.
    """

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


class EgressRefusedError(EgressError):
    """A message kind not on the allowlist, or a payload that breaks its kind's schema.

    ``field`` is the path of the offending part of the payload (``metadata.site``).
    """

    def __init__(self, message: str, *, kind: str | None = None, field: str | None = None) -> None:
        super().__init__(message, kind=kind)
        self.field = field


class CanaryDetectedError(EgressError):
    """An outbound payload holds identifying content (a canary, a hospital UID, a denylisted name).

    ``field`` is where it was found and ``rule`` which check matched; the value
    itself is never repeated.
    """

    def __init__(self, message: str, *, kind: str | None = None, field: str, rule: str) -> None:
        super().__init__(message, kind=kind)
        self.field = field
        self.rule = rule


class BudgetExceededError(EgressError):
    """A release whose privacy cost would take its purpose past the site's budget.

    Parameters
    ----------
    message
        Says what is spent, what is left and what was asked.
    kind
        The message kind.
    purpose
        ``training`` or ``statistics``.
    remaining_epsilon, remaining_delta
        What is left of the budget.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        purpose: str,
        remaining_epsilon: float,
        remaining_delta: float,
    ) -> None:
        super().__init__(message, kind=kind)
        self.purpose = purpose
        self.remaining_epsilon = remaining_epsilon
        self.remaining_delta = remaining_delta


class TrainingBudgetExceededError(BudgetExceededError):
    """A training round whose DP-SGD cost would pass the site's training budget.

    Raised by :func:`node.learn.train_local` before any training, from the
    round's ``(epsilon, delta)`` computed with Opacus's accountant; the refusal
    is written to the egress ledger. ``epsilon`` and ``delta`` are what the
    round would have cost.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        purpose: str,
        remaining_epsilon: float,
        remaining_delta: float,
        epsilon: float,
        delta: float,
    ) -> None:
        super().__init__(
            message,
            kind=kind,
            purpose=purpose,
            remaining_epsilon=remaining_epsilon,
            remaining_delta=remaining_delta,
        )
        self.epsilon = epsilon
        self.delta = delta


class LearnError(NodeError):
    """Base class of the learning domain's refusals (:mod:`node.learn`)."""


class TrainingDataError(LearnError):
    """The project has no usable consensus for the plan's labels (or too little of it).

    ``project`` and ``plan`` name what was asked; the message says what is
    missing (completed tasks, a consensus for the labels, a validation split).
    """

    def __init__(self, message: str, *, project: str, plan: str) -> None:
        super().__init__(message)
        self.project = project
        self.plan = plan


class PlanMismatchError(LearnError):
    """A training plan whose labels or classes do not fit the project's guideline."""


class NotFoundError(NodeError):
    """The requested study, series, instance or frame does not exist on this node."""


class RenderError(NodeError):
    """The pixel data cannot be rendered as requested."""


class VolumeGeometryError(RenderError):
    """A series cannot be assembled into one regular volume (gaps, tilts, mixed sizes)."""


class StoreError(NodeError):
    """The store refused or failed a write; nothing was partially written."""


class AuthError(NodeError):
    """Credentials are missing, unknown, revoked or expired."""


class InsufficientScopeError(AuthError):
    """The credentials are valid but lack the scope this operation needs."""

    def __init__(self, message: str, *, required_scope: str) -> None:
        super().__init__(message)
        self.required_scope = required_scope


class CsrfError(AuthError):
    """A cookie-authenticated request that changes state lacks its session's CSRF token."""


class AccountLockedError(AuthError):
    """Too many failed sign-ins for this username within the lockout window.

    Parameters
    ----------
    message
        Says when to try again.
    retry_at
        When the next attempt will be considered (timezone-aware UTC).
    """

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class AccountDisabledError(AuthError):
    """The account exists but an admin disabled it."""


class InvalidUserError(NodeError):
    """A username, role or other account field the node does not accept."""


class UserExistsError(NodeError):
    """A user with this username (or external identity) already exists."""


class WeakPasswordError(NodeError):
    """A new password is too short or otherwise refused."""


class RemoteSourceError(NodeError):
    """A PACS or DICOM peer could not be reached, refused us, or failed as a whole.

    Parameters
    ----------
    message
        What went wrong and what to check (address, credentials, the peer's log).
    source
        The peer: a DICOMweb URL or ``AE@host:port``.
    status_code
        The HTTP status the peer answered, when there was one.
    """

    def __init__(self, message: str, *, source: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.status_code = status_code


class AnnotationError(NodeError):
    """Base class of the annotation domain's refusals (guidelines, projects, tasks, review)."""


class ValidationFailedError(AnnotationError):
    """An annotation the node will not save; the message names the rule it breaks.

    Parameters
    ----------
    message
        What is wrong and how to fix it.
    label
        The annotation's label, when known.
    field
        The payload field at fault (``geometry.points``, ``confidence``...), when known.
    """

    def __init__(self, message: str, *, label: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.label = label
        self.field = field


class InvalidPayloadError(ValidationFailedError):
    """The payload is malformed: a missing field, a wrong type, a box with swapped corners."""


class UnknownLabelError(ValidationFailedError):
    """The label is not defined by the task's guideline version."""


class KindMismatchError(ValidationFailedError):
    """The payload's kind is not the kind its label is defined with."""


class UnknownCategoryError(ValidationFailedError):
    """A classification value that is not one of the label's category codes."""


class ConfidenceOutOfScaleError(ValidationFailedError):
    """A confidence outside the guideline's confidence scale."""


class GeometryOutOfImageError(ValidationFailedError):
    """A slice index or coordinate outside the task's series."""


class SelfIntersectingPolygonError(ValidationFailedError):
    """A polygon whose edges cross; polygons must be simple."""


class EmptyMaskError(ValidationFailedError):
    """A mask with no foreground pixel on any slice."""


class DuplicateAnnotationError(ValidationFailedError):
    """The reader already has a live annotation with this label and identical geometry."""

    def __init__(self, message: str, *, label: str, existing_annotation_id: int) -> None:
        super().__init__(message, label=label)
        self.existing_annotation_id = existing_annotation_id


class MissingRequiredLabelsError(ValidationFailedError):
    """A reader marked a task done without every label the guideline requires."""

    def __init__(self, message: str, *, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.missing = missing


class InvalidGuidelineError(AnnotationError):
    """A guideline document that is not JSON/YAML or breaks the guideline schema."""


class GuidelineConflictError(AnnotationError):
    """A guideline name and version already loaded with different content."""


class ProjectExistsError(AnnotationError):
    """A project with this name already exists."""


class ProjectSetupError(AnnotationError):
    """A project that cannot be created as asked (no matching series, too few readers)."""


class RevisionConflictError(AnnotationError):
    """The edit was based on a revision that is no longer the head.

    Parameters
    ----------
    message
        Says which revision is the head now.
    head_revision
        The current head revision number.
    """

    def __init__(self, message: str, *, head_revision: int) -> None:
        super().__init__(message)
        self.head_revision = head_revision


class TaskStateError(AnnotationError):
    """The task, or the caller's part of it, is not in a state that allows this action."""


class NotAssignedError(AnnotationError):
    """The caller is neither assigned to this task nor allowed to see it."""
