"""Canary values: unique, searchable identifying strings planted in the headers.

Every identifying attribute of a phantom carries its own canary, so a privacy
test can search anything that left a node (bytes, logs, messages) for all of
them and, on a hit, say which attribute leaked. Canaries are upper-case,
``CANARY-`` followed by nine hexadecimal characters (16 characters: they fit a
SH value), derived from the seed and the site; the birth date is a valid date
(``YYYYMMDD``) between 1930 and 1989 instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.phantoms.identifiers import derive_digest, derive_token

__all__ = ["CANARY_FIELDS", "CANARY_PREFIX", "Canaries"]

CANARY_PREFIX = "CANARY-"
"""Every canary except the birth date starts with this."""

CANARY_FIELDS = (
    "accession_number",
    "institution_address",
    "institution_name",
    "nested_private_patient_name",
    "operators_name",
    "original_patient_name",
    "other_patient_id",
    "other_patient_ids_sequence_id",
    "patient_address",
    "patient_birth_date",
    "patient_id",
    "patient_name",
    "private_tag",
    "referring_physician_name",
    "study_description",
    "study_id",
)
"""Names of the planted values, sorted; see :class:`Canaries` for where each goes."""


@dataclass(frozen=True)
class Canaries:
    """The canary values of one patient at one site.

    Attributes
    ----------
    by_field
        Field name (one of :data:`CANARY_FIELDS`) → value. ``patient_name``
        goes in PatientName as the family name, ``patient_birth_date`` in
        PatientBirthDate, ``other_patient_id`` in OtherPatientIDs, the
        ``*_sequence_id`` in OtherPatientIDsSequence, ``private_tag`` in a
        private block of group 0x0011, ``nested_private_patient_name`` in a
        PatientName inside a private sequence, and ``original_patient_name``
        in OriginalAttributesSequence > ModifiedAttributesSequence; the rest
        in the attribute of the same name.
    """

    by_field: Mapping[str, str]

    @classmethod
    def derive(cls, seed: int, site: str) -> Canaries:
        """Return the canaries for ``(seed, site)``; the same inputs give the same values."""
        values = {
            name: CANARY_PREFIX + derive_token(seed, site, f"canary/{name}")
            for name in CANARY_FIELDS
        }
        values["patient_birth_date"] = _birth_date(seed, site)
        return cls(MappingProxyType(values))

    @property
    def strings(self) -> tuple[str, ...]:
        """All canary values, in :data:`CANARY_FIELDS` order."""
        return tuple(self.by_field[name] for name in CANARY_FIELDS)

    def __getitem__(self, name: str) -> str:
        """Return the canary of field ``name``."""
        return self.by_field[name]


def _birth_date(seed: int, site: str) -> str:
    first = datetime.date(1930, 1, 1)
    span = (datetime.date(1989, 12, 31) - first).days
    offset = int.from_bytes(derive_digest(seed, site, "canary/birth-date")[:8], "big") % span
    return (first + datetime.timedelta(days=offset)).strftime("%Y%m%d")
