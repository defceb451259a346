"""Keyed, deterministic pseudonyms: HMAC-SHA256 under the per-site secret.

The same original value always maps to the same pseudonym at one site (a re-sent
instance, a later series of the same patient), different sites' pseudonyms are
unlinkable, and nothing can be inverted without the secret. Every pseudonym kind
uses its own domain-separation label, so a PatientID and a UID with equal text
give unrelated outputs.
"""

from __future__ import annotations

import base64
import hmac

from pydicom._uid_dict import UID_dictionary

from shared.errors import ConfigurationError

__all__ = ["MIN_SECRET_BYTES", "Pseudonymizer", "is_well_known_uid"]

MIN_SECRET_BYTES = 32
_DICOM_ROOT = "1.2.840.10008."
_UID_STRIP = " \x00"


def is_well_known_uid(uid: str) -> bool:
    """Return whether ``uid`` is a registered DICOM UID that must never be remapped.

    True for every UID in pydicom's UID dictionary (SOP classes, transfer
    syntaxes, coding schemes, well-known frames of reference...) and anything
    else under the DICOM root ``1.2.840.10008``, which only the standard assigns.
    """
    uid = uid.strip(_UID_STRIP)
    return uid in UID_dictionary or uid.startswith(_DICOM_ROOT)


class Pseudonymizer:
    """Derives every pseudonym of one site from its secret.

    Parameters
    ----------
    site_secret
        At least 32 random bytes, kept on the node and never sent anywhere.

    Raises
    ------
    shared.errors.ConfigurationError
        When the secret is shorter than 32 bytes.
    """

    def __init__(self, site_secret: bytes) -> None:
        if not isinstance(site_secret, bytes | bytearray) or len(site_secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"the de-identification site secret must be at least {MIN_SECRET_BYTES} random "
                "bytes (for example secrets.token_bytes(32)); keep it stable, since changing it "
                "changes every pseudonym",
                setting="site_secret",
            )
        self._key = bytes(site_secret)

    def digest(self, label: str, value: str) -> bytes:
        """Return HMAC-SHA256 of ``value`` under the site secret, separated by ``label``."""
        return hmac.digest(self._key, f"{label}\x00{value}".encode(), "sha256")

    def uid(self, uid: str) -> str:
        """Return the pseudonym of a UID, or the UID itself when it is well known.

        The result is ``2.25.`` followed by the decimal value of 128 bits of the
        HMAC (PS3.5 B.2): at most 44 characters, no leading zero.
        """
        uid = uid.strip(_UID_STRIP)
        if not uid or is_well_known_uid(uid):
            return uid
        return "2.25." + str(int.from_bytes(self.digest("uid", uid)[:16], "big"))

    def _code(self, label: str, value: str, length: int) -> str:
        return base64.b32encode(self.digest(label, value)).decode("ascii")[:length]

    def patient_id(self, patient_key: str) -> str:
        """Return the patient pseudonym ``HN-`` + 20 base32 characters (100 bits)."""
        return "HN-" + self._code("patient", patient_key, 20)

    def accession_number(self, accession: str) -> str:
        """Return an Accession Number pseudonym that fits SH (16 characters)."""
        return "AN-" + self._code("accession", accession.strip(), 13)

    def study_id(self, study_id: str) -> str:
        """Return a Study ID pseudonym that fits SH (16 characters)."""
        return "ST-" + self._code("study-id", study_id.strip(), 13)

    def date_shift_days(self, patient_key: str, max_days: int) -> int:
        """Return how many days to move this patient's dates back, in ``[1, max_days]``."""
        value = int.from_bytes(self.digest("date-shift", patient_key)[:8], "big")
        return 1 + value % max_days
