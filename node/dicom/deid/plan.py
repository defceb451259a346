"""What to do with each tag: the profile table, the options and our stricter rules, resolved.

An :class:`ActionPlan` turns the Basic Profile action of a tag (see
:mod:`node.dicom.deid.profile`), the site's options and the attribute's
dictionary VR into one :class:`Operation`. Table rows are resolved once when the
plan is built; any other tag the first time it is seen, then cached in the plan.

Beyond Table E.1-1 the plan is stricter in a few documented places:

- every UI attribute not in the table is remapped too, unless it names a class,
  transfer syntax or coding resource (SOP Class UID, Coding Scheme UID...);
  well-known DICOM UIDs are never remapped anywhere;
- Text Value (0040,A160), free text of SR content items, gets a dummy;
- a whole overlay group ``60xx`` is removed (the table removes Overlay Data and
  Overlay Comments, and an overlay without its data would be invalid);
- group lengths ``(gggg,0000)`` are removed (they would be wrong after editing);
- attributes that pydicom's data dictionary does not know cannot be judged and
  are removed;
- with the dates option, *every* DA and DT is shifted, not only those in the
  table, so a date left unshifted cannot reveal the shift.
"""

from __future__ import annotations

import enum

from pydicom.datadict import get_entry

from node.dicom.deid.options import DeidOptions
from node.dicom.deid.profile import PATIENT_CHARACTERISTICS_TAGS, BasicAction, ProfileTable

__all__ = ["ActionPlan", "Operation"]


class Operation(enum.Enum):
    """What happens to one data element."""

    KEEP = "keep"
    REMOVE = "remove"
    EMPTY = "empty"
    DUMMY = "dummy"
    DUMMY_CODE = "dummy code item"
    REMAP_UID = "remap UID"
    RECURSE = "de-identify each item"
    SHIFT_DATE = "shift date"
    PATIENT_ID = "patient pseudonym"
    PATIENT_NAME = "patient pseudonym as name"
    ACCESSION_NUMBER = "accession pseudonym"
    STUDY_ID = "study ID pseudonym"


PATIENT_NAME = 0x00100010
PATIENT_ID = 0x00100020
_PSEUDONYM_TAGS = {
    PATIENT_NAME: Operation.PATIENT_NAME,
    PATIENT_ID: Operation.PATIENT_ID,
    0x00080050: Operation.ACCESSION_NUMBER,
    0x00200010: Operation.STUDY_ID,
}
# Stricter than the table (see the module docstring).
_EXTRA_DUMMIES = frozenset({0x0040A160})  # Text Value
_DUMMY_CODE_SEQUENCES = frozenset({0x00401101})  # Person Identification Code Sequence
# Dates the dates option does not retain: birth date and time stay per the Basic Profile.
_NEVER_SHIFTED = frozenset({0x00100030, 0x00100032})
# UI attributes that name a class or a resource, never an instance: kept as they are.
_CLASS_UID_SUFFIXES = ("ClassUID", "SyntaxUID", "SOPClassesInStudy", "SOPClassesInSeries")
_CLASS_UID_KEYWORDS = frozenset(
    {
        "CodingSchemeUID",
        "ContextGroupExtensionCreatorUID",
        "ContextUID",
        "MappingResourceUID",
        "SOPClassesSupported",
        "SegmentationTemplateUID",
    }
)


def _entry(tag: int) -> tuple[str, str] | None:
    """Return ``(VR, keyword)`` from pydicom's dictionary, or None for an unknown tag."""
    try:
        vr, _vm, _name, _retired, keyword = get_entry(tag)
    except KeyError:
        return None
    return vr.split(" or ")[0], keyword


class ActionPlan:
    """The resolved operation for every tag under one set of options.

    Parameters
    ----------
    table
        The Basic Profile action table.
    options
        The site's options.
    """

    def __init__(self, table: ProfileTable, options: DeidOptions) -> None:
        self._table = table
        self._options = options
        self._operations: dict[int, Operation] = {}
        for tag, _action in table:
            self._operations[tag] = self._resolve(tag)

    def operation(self, tag: int) -> Operation:
        """Return the operation for a standard (even-group) tag."""
        op = self._operations.get(tag)
        if op is None:
            op = self._resolve(tag)
            self._operations[tag] = op
        return op

    def _resolve(self, tag: int) -> Operation:
        entry = _entry(tag)
        vr = entry[0] if entry else None
        if tag in _PSEUDONYM_TAGS:
            return _PSEUDONYM_TAGS[tag]
        if tag in _EXTRA_DUMMIES:
            return Operation.DUMMY
        if self._options.retain_patient_characteristics and tag in PATIENT_CHARACTERISTICS_TAGS:
            return Operation.RECURSE if vr == "SQ" else Operation.KEEP
        if self._options.retain_longitudinal_modified_dates and tag not in _NEVER_SHIFTED:
            if vr in ("DA", "DT"):
                return Operation.SHIFT_DATE
            if vr == "TM" and self._table.action_for(tag) is not None:
                return Operation.KEEP
        if tag & 0xFFFF == 0 or (tag >> 16) & 0xFF00 == 0x6000:
            return Operation.REMOVE
        action = self._table.action_for(tag)
        if action is not None:
            return _resolve_action(action, vr, tag)
        if entry is None:
            return Operation.REMOVE
        if vr == "SQ":
            return Operation.RECURSE
        if vr == "UI":
            keyword = entry[1]
            if keyword in _CLASS_UID_KEYWORDS or keyword.endswith(_CLASS_UID_SUFFIXES):
                return Operation.KEEP
            return Operation.REMAP_UID
        return Operation.KEEP


def _resolve_action(action: BasicAction, vr: str | None, tag: int) -> Operation:
    """Resolve one Basic Profile action conservatively (table in :mod:`.profile`)."""
    if action is BasicAction.X:
        return Operation.REMOVE
    if action is BasicAction.Z:
        return Operation.EMPTY
    if action is BasicAction.U:
        return Operation.REMAP_UID
    if vr == "SQ":
        if action is BasicAction.D and tag in _DUMMY_CODE_SEQUENCES:
            return Operation.DUMMY_CODE
        if action.allows_zero_length and action is not BasicAction.X_Z_U_STAR:
            return Operation.EMPTY
        return Operation.RECURSE
    if vr == "UI":
        return Operation.REMAP_UID
    if action is BasicAction.X_Z:
        return Operation.EMPTY
    return Operation.DUMMY
