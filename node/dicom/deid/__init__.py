"""De-identification of DICOM instances on the hospital node (PS3.15 Annex E).

The Basic Application Level Confidentiality Profile is applied to every
attribute of Table E.1-1, loaded from a maintained machine-readable source
(:mod:`node.dicom.deid.profile`), with the site's options (:class:`DeidOptions`):
Retain Longitudinal Temporal Information with Modified Dates, Retain Patient
Characteristics, and a private-attribute safe-list. Identifiers and UIDs become
keyed pseudonyms (HMAC-SHA256 under the site secret), stable across instances
and series of one patient. Burned-in text is judged on the original header
(:func:`burned_in_text_reason`), and the optional re-identification link is
sealed to hospital IT's public key (:class:`RelinkSealer`).

Example
-------
>>> deid = Deidentifier(site_secret, DeidOptions.from_settings(settings))
>>> result = deid.deidentify(dataset)          # modifies ``dataset`` in place
>>> result.quarantine_reason, result.identity.pseudonym_patient_id
"""

from node.dicom.deid.burned_in import burned_in_text_reason
from node.dicom.deid.deidentifier import Deidentifier, DeidResult
from node.dicom.deid.identity import IdentityLink
from node.dicom.deid.options import DeidOptions, PrivateTagRule
from node.dicom.deid.profile import BasicAction, ProfileTable, load_profile_table
from node.dicom.deid.relink import RelinkSealer, generate_relink_keypair, open_relink

__all__ = [
    "BasicAction",
    "DeidOptions",
    "DeidResult",
    "Deidentifier",
    "IdentityLink",
    "PrivateTagRule",
    "ProfileTable",
    "RelinkSealer",
    "burned_in_text_reason",
    "generate_relink_keypair",
    "load_profile_table",
    "open_relink",
]
