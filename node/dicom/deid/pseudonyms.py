"""Keyed, deterministic pseudonyms: HMAC-SHA256 under the per-site secret.

The same original value always maps to the same pseudonym at one site (a re-sent
instance, a later series of the same patient), different sites' pseudonyms are
unlinkable, and nothing can be inverted without the secret. Every pseudonym kind
uses its own domain-separation label, so a PatientID and a UID with equal text
give unrelated outputs.

Pseudonyms carry a short keyed tag, so the node recognises its own: a DICOM SEG
that a viewer (OHIF, 3D Slicer) sends back refers to the node's pseudonymous
study, series and patient, and de-identifying it again must keep them rather
than pseudonymize the pseudonyms. A foreign value passes for one of ours only
with probability 2**-32 (UIDs) or 2**-20 (the ``HN-``/``AN-``/``ST-`` codes).
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
_UID_BODY_BYTES = 12
_UID_TAG_BYTES = 4
_CODE_TAG = 4  # base32 characters: 20 bits


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
        """Return the pseudonym of a UID; well-known UIDs and the node's own come back unchanged.

        The result is ``2.25.`` followed by the decimal value of 128 bits (PS3.5
        B.2): 96 bits of the HMAC of the UID, then a 32-bit tag that marks it as
        this site's (:meth:`is_own_uid`). At most 44 characters, no leading zero.
        """
        uid = uid.strip(_UID_STRIP)
        if not uid or is_well_known_uid(uid) or self.is_own_uid(uid):
            return uid
        body = self.digest("uid", uid)[:_UID_BODY_BYTES]
        return "2.25." + str(int.from_bytes(body + self._uid_tag(body), "big"))

    def is_own_uid(self, uid: str) -> bool:
        """Whether ``uid`` is a pseudonym this site issued."""
        digits = uid.strip(_UID_STRIP).removeprefix("2.25.")
        if len(digits) == len(uid.strip(_UID_STRIP)) or not digits.isdigit():
            return False
        value = int(digits)
        if value >= 1 << (8 * (_UID_BODY_BYTES + _UID_TAG_BYTES)) or digits != str(value):
            return False
        raw = value.to_bytes(_UID_BODY_BYTES + _UID_TAG_BYTES, "big")
        return hmac.compare_digest(raw[_UID_BODY_BYTES:], self._uid_tag(raw[:_UID_BODY_BYTES]))

    def _uid_tag(self, body: bytes) -> bytes:
        return self.digest("uid-tag", body.hex())[:_UID_TAG_BYTES]

    def _code(self, label: str, value: str, length: int) -> str:
        """``length`` base32 characters: the value's HMAC code, then a tag that marks it ours."""
        code = base64.b32encode(self.digest(label, value)).decode("ascii")[: length - _CODE_TAG]
        return code + self._code_tag(label, code)

    def _code_tag(self, label: str, code: str) -> str:
        return base64.b32encode(self.digest(label + "-tag", code)).decode("ascii")[:_CODE_TAG]

    def _is_own_code(self, label: str, value: str, prefix: str, length: int) -> bool:
        code = value.strip(_UID_STRIP).removeprefix(prefix)
        if len(code) != length or not value.strip(_UID_STRIP).startswith(prefix):
            return False
        body, tag = code[:-_CODE_TAG], code[-_CODE_TAG:]
        return hmac.compare_digest(tag, self._code_tag(label, body))

    def is_own_patient_id(self, patient_id: str) -> bool:
        """Whether ``patient_id`` is a patient pseudonym this site issued."""
        return self._is_own_code("patient", patient_id, "HN-", 20)

    def patient_id(self, patient_key: str) -> str:
        """Return the patient pseudonym ``HN-`` + 20 base32 characters (the node's own stay)."""
        if self.is_own_patient_id(patient_key):
            return patient_key.strip(_UID_STRIP)
        return "HN-" + self._code("patient", patient_key, 20)

    def accession_number(self, accession: str) -> str:
        """Return an Accession Number pseudonym that fits SH (16 characters)."""
        if self._is_own_code("accession", accession, "AN-", 13):
            return accession.strip(_UID_STRIP)
        return "AN-" + self._code("accession", accession.strip(), 13)

    def study_id(self, study_id: str) -> str:
        """Return a Study ID pseudonym that fits SH (16 characters)."""
        if self._is_own_code("study-id", study_id, "ST-", 13):
            return study_id.strip(_UID_STRIP)
        return "ST-" + self._code("study-id", study_id.strip(), 13)

    def date_shift_days(self, patient_key: str, max_days: int) -> int:
        """Return how many days to move this patient's dates back, in ``[1, max_days]``."""
        value = int.from_bytes(self.digest("date-shift", patient_key)[:8], "big")
        return 1 + value % max_days
