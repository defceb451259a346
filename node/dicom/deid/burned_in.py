"""Deciding whether an instance may carry burned-in identifying text.

The profile cleans headers only; text burned into the pixels needs a person or a
pixel-cleaning step. This rule sends the risky instances to quarantine. It must
be evaluated on the *original* dataset, before de-identification.
"""

from __future__ import annotations

from pydicom import Dataset

from node.dicom.raw_values import element_text

__all__ = ["SECONDARY_CAPTURE_SOP_CLASSES", "burned_in_text_reason"]

# PS3.4 B.5: Secondary Capture Image Storage and the four multi-frame SC classes.
SECONDARY_CAPTURE_SOP_CLASSES: frozenset[str] = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",
        "1.2.840.10008.5.1.4.1.1.7.1",
        "1.2.840.10008.5.1.4.1.1.7.2",
        "1.2.840.10008.5.1.4.1.1.7.3",
        "1.2.840.10008.5.1.4.1.1.7.4",
    }
)
_RISKY_MODALITIES = frozenset({"US", "SC", "OT"})


_TAGS = {"BurnedInAnnotation": 0x00280301, "Modality": 0x00080060, "SOPClassUID": 0x00080016}


def _text(ds: Dataset, keyword: str) -> str:
    return element_text(ds, _TAGS[keyword]).upper()


def burned_in_text_reason(ds: Dataset) -> str | None:
    """Return why ``ds`` must be quarantined for burned-in text, or None if it need not be.

    Quarantine when Burned In Annotation (0028,0301) is YES; or when the instance
    is ultrasound, or a secondary capture (any SC SOP class, or Modality SC or
    OT), and Burned In Annotation is not explicitly NO.

    Parameters
    ----------
    ds
        The original, not yet de-identified dataset.

    Returns
    -------
    str or None
        A sentence naming the rule that fired, for the quarantine record.
    """
    burned_in = _text(ds, "BurnedInAnnotation")
    if burned_in == "YES":
        return "BurnedInAnnotation is YES: the pixels carry burned-in text"
    if burned_in == "NO":
        return None
    modality = _text(ds, "Modality")
    sop_class = _text(ds, "SOPClassUID")
    stated = f"BurnedInAnnotation is {burned_in}" if burned_in else "BurnedInAnnotation is absent"
    if sop_class in SECONDARY_CAPTURE_SOP_CLASSES:
        return f"secondary capture SOP class {sop_class} and {stated}: may carry burned-in text"
    if modality in _RISKY_MODALITIES:
        return f"modality {modality} and {stated}: may carry burned-in text"
    return None
