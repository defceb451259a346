"""The check every calibration image passes: a generated phantom, or cleanly de-identified.

:func:`check_calibration_dataset` accepts a dataset whose SOP Instance UID is
one the node generated itself from the signed spec (a phantom, no patient by
construction). Anything else — a public image someone wants to add — must
carry a clean de-identification marker: Patient Identity Removed ``YES``, a
De-identification Method, no patient name, ID or birth date, and no burned-in
annotation. Everything else is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from pydicom.dataset import Dataset

from shared.calibration.errors import CalibrationDataError

__all__ = ["CalibrationSource", "check_calibration_dataset"]


class CalibrationSource(enum.StrEnum):
    """Why a calibration image was accepted."""

    PHANTOM = "phantom"
    DEIDENTIFIED = "deidentified"


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def check_calibration_dataset(
    ds: Dataset, *, generated_uids: Collection[str] = ()
) -> CalibrationSource:
    """Accept ``ds`` as a calibration image, or raise :class:`CalibrationDataError`.

    Parameters
    ----------
    ds
        The dataset.
    generated_uids
        SOP Instance UIDs of the phantoms this node generated from the spec.

    Returns
    -------
    CalibrationSource
        ``phantom`` or ``deidentified``.
    """
    if _text(ds, "SOPInstanceUID") in generated_uids:
        return CalibrationSource.PHANTOM
    problems = []
    if _text(ds, "PatientIdentityRemoved").upper() != "YES":
        problems.append("Patient Identity Removed is not YES")
    if not _text(ds, "DeidentificationMethod") and not ds.get("DeidentificationMethodCodeSequence"):
        problems.append("it names no De-identification Method")
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs"):
        if _text(ds, keyword):
            problems.append(f"{keyword} is not empty")
    if _text(ds, "BurnedInAnnotation").upper() == "YES":
        problems.append("it has burned-in annotation")
    if problems:
        raise CalibrationDataError(
            "refused as a calibration image: it is not a phantom generated from the signed set "
            f"and lacks a clean de-identification marker ({'; '.join(problems)}). Use phantom "
            "cases, or de-identify the image first"
        )
    return CalibrationSource.DEIDENTIFIED
