"""The PS3.15 Annex E action table, loaded from a maintained machine-readable source.

Table E.1-1 (Application Level Confidentiality Profile Attributes) is not typed
here by hand: it is read from ``dicomanonymizer.dicom_anonymization_databases.
dicomfields_2026c`` (the ``dicom-anonymizer`` package, generated from the 2026c
edition of the standard). Only that data module is used; the actions are
implemented by :mod:`node.dicom.deid.deidentifier` with this project's semantics.

Compound actions (PS3.15 E.1.1 "X/Z", "Z/D", "X/D", "X/Z/D", "X/Z/U*") depend on
whether the attribute is Type 1, 2 or 3 in the IOD at hand, which a generic
de-identifier does not know. They are resolved *conservatively*: the attribute
is never removed when one of the alternatives keeps it, but whatever stays
carries no original information:

=========  ==========================  ======================================
Action     Non-sequence attribute      Sequence attribute
=========  ==========================  ======================================
X          removed                     removed
Z          zero length                 empty sequence
D          dummy of the right VR       items kept, each de-identified
U          UID pseudonym               (not used)
X/Z        zero length                 empty sequence
Z/D        dummy of the right VR       empty sequence
X/D        dummy of the right VR       items kept, each de-identified
X/Z/D      dummy of the right VR       empty sequence
X/Z/U*     UID pseudonym               items kept, each de-identified
=========  ==========================  ======================================

So a Type 1 attribute never becomes empty or absent (the dummy satisfies it), a
Type 2 attribute never disappears, and a Type 3 attribute is kept only as a
value-free placeholder. A dummy replaces a non-empty value only: a value that
was already empty stays empty.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as _source

__all__ = [
    "PATIENT_CHARACTERISTICS_TAGS",
    "SOURCE_EDITION",
    "BasicAction",
    "MaskedRule",
    "ProfileTable",
    "load_profile_table",
]

SOURCE_EDITION = "2026c"

# PS3.15 (2026c) Table E.1-1, column "Rtn. Pat. Chars. Opt." (Retain Patient
# Characteristics Option): the attributes marked K. The data source carries only
# the Basic Profile column, so this short list is written out. Attributes marked
# C in that column (Allergies, Medical Alerts, Additional Patient History, Patient
# State, Special Needs, Occupation) need free-text cleaning the node cannot do
# reliably, so they keep their Basic Profile action.
PATIENT_CHARACTERISTICS_TAGS: frozenset[int] = frozenset(
    {
        0x00101010,  # Patient's Age
        0x00100040,  # Patient's Sex
        0x00101020,  # Patient's Size
        0x00101030,  # Patient's Weight
        0x00102160,  # Ethnic Group
        0x00102161,  # Ethnic Group Code Sequence
        0x001021A0,  # Smoking Status
        0x001021C0,  # Pregnancy Status
        0x00102203,  # Patient's Sex Neutered
    }
)


class BasicAction(enum.StrEnum):
    """An action code of the Basic Profile column of Table E.1-1."""

    D = "D"
    Z = "Z"
    X = "X"
    U = "U"
    Z_D = "Z/D"
    X_Z = "X/Z"
    X_D = "X/D"
    X_Z_D = "X/Z/D"
    X_Z_U_STAR = "X/Z/U*"

    @property
    def allows_zero_length(self) -> bool:
        """Whether ``Z`` is among the alternatives (an empty sequence is acceptable)."""
        return "Z" in self.value


# Names of the lists in the data source, by action.
_SOURCE_LISTS: Mapping[BasicAction, str] = {
    BasicAction.D: "D_TAGS",
    BasicAction.Z: "Z_TAGS",
    BasicAction.X: "X_TAGS",
    BasicAction.U: "U_TAGS",
    BasicAction.Z_D: "Z_D_TAGS",
    BasicAction.X_Z: "X_Z_TAGS",
    BasicAction.X_D: "X_D_TAGS",
    BasicAction.X_Z_D: "X_Z_D_TAGS",
    BasicAction.X_Z_U_STAR: "X_Z_U_STAR_TAGS",
}


@dataclass(frozen=True)
class MaskedRule:
    """A table row for a repeating group, such as Curve Data ``(50xx,xxxx)``.

    A tag matches when ``tag & mask == pattern``.
    """

    pattern: int
    mask: int
    action: BasicAction

    def matches(self, tag: int) -> bool:
        """Return whether ``tag`` falls in this row's repeating group."""
        return (tag & self.mask) == self.pattern


@dataclass(frozen=True)
class ProfileTable:
    """The Basic Profile actions: exact tags plus repeating-group rows."""

    actions: Mapping[int, BasicAction]
    masked: tuple[MaskedRule, ...]
    edition: str = SOURCE_EDITION

    def action_for(self, tag: int) -> BasicAction | None:
        """Return the Basic Profile action for ``tag``, or None when the table has no row."""
        action = self.actions.get(tag)
        if action is not None:
            return action
        for rule in self.masked:
            if rule.matches(tag):
                return rule.action
        return None

    def __iter__(self) -> Iterator[tuple[int, BasicAction]]:
        """Iterate over the exact-tag rows as ``(tag, action)``."""
        return iter(self.actions.items())

    def __len__(self) -> int:
        return len(self.actions) + len(self.masked)


def load_profile_table() -> ProfileTable:
    """Read Table E.1-1's Basic Profile column from the data source.

    Returns
    -------
    ProfileTable
        One action per tag; repeating-group rows as :class:`MaskedRule`.

    Raises
    ------
    ValueError
        When the source lists one tag under two actions or has an entry of an
        unexpected shape (a broken upgrade of ``dicom-anonymizer``).
    """
    actions: dict[int, BasicAction] = {}
    masked: list[MaskedRule] = []
    for action, list_name in _SOURCE_LISTS.items():
        for entry in getattr(_source, list_name):
            if len(entry) == 2:
                tag = (entry[0] << 16) | entry[1]
                if tag in actions and actions[tag] is not action:
                    raise ValueError(
                        f"dicom-anonymizer lists ({entry[0]:04X},{entry[1]:04X}) as both "
                        f"{actions[tag]} and {action}; pin dicom-anonymizer==2.1.0"
                    )
                actions[tag] = action
            elif len(entry) == 4:
                group, element, group_mask, element_mask = entry
                mask = (group_mask << 16) | element_mask
                masked.append(MaskedRule(((group << 16) | element) & mask, mask, action))
            else:
                raise ValueError(
                    f"unexpected entry {entry!r} in dicom-anonymizer's {list_name}; "
                    "pin dicom-anonymizer==2.1.0"
                )
    return ProfileTable(MappingProxyType(actions), tuple(masked))
