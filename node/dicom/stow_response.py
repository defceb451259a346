"""The PS3.18 §10.5.3 store-instances response, built from ingest outcomes.

Sent UIDs are echoed as the sender sent them, so its records match; the
RetrieveURLs point at the de-identified copies the node serves. Each failed
instance also carries the node's reason in words, in a private block
(creator ``HARMONIA 1.0``, element (0009,1001) LT), because FailureReason
codes alone do not tell a sender what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from node.dicom.ingest import IngestOutcome, IngestStatus

__all__ = ["PRIVATE_CREATOR", "stow_response"]

PRIVATE_CREATOR = "HARMONIA 1.0"

_RETRIEVE_URL = "00081190"
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_SEQUENCE = "00081199"
_REFERENCED_SOP_CLASS = "00081150"
_REFERENCED_SOP_INSTANCE = "00081155"
_FAILURE_REASON = "00081197"
_WARNING_REASON = "00081196"
_WARNING_COERCION = 0xB000


def _value(vr: str, value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {"vr": vr}
    return {"vr": vr, "Value": [value]}


def stow_response(
    outcomes: Sequence[IngestOutcome], *, studies_url: str
) -> tuple[int, dict[str, Any]]:
    """Return ``(http_status, dicom_json)`` for a STOW-RS request.

    Parameters
    ----------
    outcomes
        One per received part, in order.
    studies_url
        Absolute URL of ``/dicom-web/studies`` on this node.

    Notes
    -----
    200 when every instance is stored (or already was), 409 when none is,
    202 when some are and some are not (PS3.18 Table 10.5.3-1). Quarantined
    instances are stored, with WarningReason B000 because their availability
    for annotation is held back until an admin releases them.
    """
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    stored_studies = set()
    for outcome in outcomes:
        if outcome.status is IngestStatus.REJECTED:
            failed.append(
                {
                    _REFERENCED_SOP_CLASS: _value("UI", outcome.sop_class_uid),
                    _REFERENCED_SOP_INSTANCE: _value("UI", outcome.sop_instance_uid),
                    _FAILURE_REASON: _value("US", outcome.failure_reason),
                    "00090010": _value("LO", PRIVATE_CREATOR),
                    "00091001": _value("LT", outcome.message),
                }
            )
            continue
        stored_studies.add(outcome.stored_study_instance_uid)
        item = {
            _REFERENCED_SOP_CLASS: _value("UI", outcome.sop_class_uid),
            _REFERENCED_SOP_INSTANCE: _value("UI", outcome.sop_instance_uid),
            _RETRIEVE_URL: _value(
                "UR",
                f"{studies_url}/{outcome.stored_study_instance_uid}/series/"
                f"{outcome.stored_series_instance_uid}/instances/"
                f"{outcome.stored_sop_instance_uid}",
            ),
        }
        if outcome.quarantined:
            item[_WARNING_REASON] = _value("US", _WARNING_COERCION)
        referenced.append(item)
    body: dict[str, Any] = {}
    if len(stored_studies) == 1:
        body[_RETRIEVE_URL] = _value("UR", f"{studies_url}/{next(iter(stored_studies))}")
    if referenced:
        body[_REFERENCED_SOP_SEQUENCE] = {"vr": "SQ", "Value": referenced}
    if failed:
        body[_FAILED_SOP_SEQUENCE] = {"vr": "SQ", "Value": failed}
    if not failed:
        status = 200
    elif not referenced:
        status = 409
    else:
        status = 202
    return status, body
