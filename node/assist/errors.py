"""Errors of AI assistance, each also a member of the node's error family it answers as.

::

    AssistError (NodeError)
    ├── PreannotationOffError          the project shows no AI drafts       (TaskStateError 409)
    ├── ProposalResolvedError          already resolved by this reader      (TaskStateError 409)
    ├── ProposalNotFoundError          no such proposal, or not yours       (NotFoundError 404)
    ├── EditMismatchError              the linked annotation is no edit     (ValidationFailed 422)
    ├── AnchoringNotAcknowledgedError  drafts on a multi-reader project     (ProjectSetupError 422)
    ├── ModelUnavailableError          the model is not on this node        (NotFoundError 404)
    └── ModelMismatchError             the model does not fit the project   (ValidationFailed 422)

The HTTP layer maps them through the node families they also derive from, so
``node/api/errors.py`` needs no entry of its own.
"""

from __future__ import annotations

from node.errors import (
    NodeError,
    NotFoundError,
    ProjectSetupError,
    TaskStateError,
    ValidationFailedError,
)

__all__ = [
    "AnchoringNotAcknowledgedError",
    "AssistError",
    "EditMismatchError",
    "ModelMismatchError",
    "ModelUnavailableError",
    "PreannotationOffError",
    "ProposalNotFoundError",
    "ProposalResolvedError",
]


class AssistError(NodeError):
    """AI assistance refused an action."""


class PreannotationOffError(AssistError, TaskStateError):
    """The task's project does not show AI drafts to its readers."""


class ProposalResolvedError(AssistError, TaskStateError):
    """The caller has already accepted, edited or rejected this proposal."""

    def __init__(self, message: str, *, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class ProposalNotFoundError(AssistError, NotFoundError):
    """No such proposal, or one the caller may not see."""


class EditMismatchError(AssistError, ValidationFailedError):
    """The annotation named as a proposal's edit is not one (other task, label or reader)."""


class AnchoringNotAcknowledgedError(AssistError, ProjectSetupError):
    """AI drafts on a project that measures agreement, without acknowledging the anchoring."""


class ModelUnavailableError(AssistError, NotFoundError):
    """The asked model version is not stored on this node."""


class ModelMismatchError(AssistError, ValidationFailedError):
    """The model's outputs do not fit the project's guideline."""
