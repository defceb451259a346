"""Applying the profile to one dataset: one walk, in place, recursing into sequences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom import Dataset, config
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from node.dicom.deid.burned_in import burned_in_text_reason
from node.dicom.deid.dates import shift_da, shift_dt
from node.dicom.deid.identity import IdentityLink
from node.dicom.deid.marking import encoded_marks, mark_deidentified
from node.dicom.deid.options import DeidOptions
from node.dicom.deid.plan import PATIENT_ID, PATIENT_NAME, ActionPlan, Operation
from node.dicom.deid.profile import ProfileTable, load_profile_table
from node.dicom.deid.pseudonyms import Pseudonymizer
from node.dicom.deid.values import (
    DUMMY_TEXT,
    dummy_value,
    empty_value,
    is_empty,
    value_representation,
)
from node.dicom.raw_values import element_text, encoded_empty, encoded_text
from node.errors import DeidentificationError

__all__ = ["DeidResult", "Deidentifier"]

# File meta attributes that name the sending systems; removed (all Type 3).
_META_REMOVED = (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102)
_MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003
_DIRECTORY_RECORD_SEQUENCE = 0x00041220
_PIXEL_GROUP = 0x7FE0
_MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


@dataclass(frozen=True)
class DeidResult:
    """The outcome of de-identifying one instance.

    Parameters
    ----------
    dataset
        The de-identified dataset: the very object passed in, modified in place.
    quarantine_reason
        Why the instance may carry burned-in text (from the *original* header), or None.
    identity
        Pseudonyms and original identifiers, for an optional sealed relink; never
        store it unsealed.
    """

    dataset: Dataset
    quarantine_reason: str | None
    identity: IdentityLink


# Set on the top-level data set once the walk is done (whatever the walk did).
_SET_AFTER_THE_WALK = frozenset({Operation.PATIENT_ID, Operation.PATIENT_NAME})


@dataclass
class _Context:
    """Per-instance values the walk needs."""

    patient_pseudonym: str
    shift_days: int


def _text(ds: Dataset, keyword: str) -> str:
    """Return an attribute's value as stripped text ("" when absent), converting cheaply."""
    tag = tag_for_keyword(keyword)
    return "" if tag is None else element_text(ds, tag)


class Deidentifier:
    """Applies PS3.15 Annex E (Basic Profile plus the site's options) to datasets.

    One instance serves any number of datasets, from any number of threads; the
    action table is resolved once, here.

    Parameters
    ----------
    site_secret
        At least 32 random bytes; every pseudonym derives from it.
    options
        The site's profile options.
    table
        The Basic Profile action table; loaded from the data source by default.

    Raises
    ------
    shared.errors.ConfigurationError
        When the secret is too short.
    """

    def __init__(
        self,
        site_secret: bytes,
        options: DeidOptions = DeidOptions(),  # noqa: B008 - frozen dataclass
        *,
        table: ProfileTable | None = None,
    ) -> None:
        self._pseudonyms = Pseudonymizer(site_secret)
        self._options = options
        self._table = table if table is not None else load_profile_table()
        self._plan = ActionPlan(self._table, options)
        self._safelist = {(r.group, r.creator, r.element) for r in options.private_tag_safelist}
        self._marks: dict[tuple[bool, bool], tuple[RawDataElement, ...]] = {}

    @property
    def options(self) -> DeidOptions:
        """The options this de-identifier applies."""
        return self._options

    def pseudonymize_uid(self, uid: str) -> str:
        """Return the site's pseudonym for ``uid`` (well-known DICOM UIDs come back unchanged)."""
        return self._pseudonyms.uid(uid)

    def pseudonymize_patient_id(self, patient_id: str) -> str:
        """Return the site's pseudonym for an original PatientID."""
        return self._pseudonyms.patient_id(patient_id.strip(" \x00"))

    def deidentify(self, ds: Dataset) -> DeidResult:
        """De-identify ``ds`` in place and return it with its quarantine verdict and identity.

        The dataset is modified in place (pixel data is not copied). If this raises,
        the dataset may be half-processed and must be discarded.

        Raises
        ------
        node.errors.DeidentificationError
            When an attribute cannot be read or rewritten; the message names it.
        """
        try:
            return self._deidentify(ds)
        except DeidentificationError:
            raise
        except Exception as exc:
            raise DeidentificationError(
                f"could not de-identify the instance ({type(exc).__name__}: {exc}); "
                "it was not stored: ask the sender to check it with a DICOM validator"
            ) from exc

    def _deidentify(self, ds: Dataset) -> DeidResult:
        if _DIRECTORY_RECORD_SEQUENCE in ds or _text(ds, "SOPClassUID") == _MEDIA_STORAGE_DIRECTORY:
            raise DeidentificationError(
                "this is a DICOMDIR (Media Storage Directory): it indexes other files and names "
                "many patients, and is not an instance to store; import the files it references"
            )
        reason = burned_in_text_reason(ds)
        originals = {
            keyword: _text(ds, keyword)
            for keyword in (
                "PatientID",
                "PatientName",
                "PatientBirthDate",
                "IssuerOfPatientID",
                "AccessionNumber",
                "StudyID",
                "StudyInstanceUID",
                "SeriesInstanceUID",
                "SOPInstanceUID",
            )
        }
        patient_key = originals["PatientID"]
        if not patient_key:
            # No PatientID: each study stands for its own pseudonymous patient.
            patient_key = "\x00study:" + (
                originals["StudyInstanceUID"] or originals["SOPInstanceUID"]
            )
        # An instance that already carries this node's patient pseudonym was
        # de-identified here (a SEG a viewer sends back): its dates were shifted.
        already_ours = self._pseudonyms.is_own_patient_id(originals["PatientID"])
        ctx = _Context(
            patient_pseudonym=self._pseudonyms.patient_id(patient_key),
            shift_days=0
            if already_ours
            else self._pseudonyms.date_shift_days(patient_key, self._options.max_date_shift_days),
        )
        self._walk(ds, ctx, top_level=True)
        for tag, vr in ((PATIENT_NAME, "PN"), (PATIENT_ID, "LO")):
            ds[tag] = encoded_text(ds, tag, vr, ctx.patient_pseudonym) or DataElement(
                tag, vr, ctx.patient_pseudonym, validation_mode=config.IGNORE
            )
        self._mark(ds)
        self._fix_file_meta(ds)
        if getattr(ds, "preamble", None) is not None:
            ds.preamble = b"\x00" * 128
        identity = IdentityLink(
            pseudonym_patient_id=ctx.patient_pseudonym,
            pseudonym_study_instance_uid=_text(ds, "StudyInstanceUID"),
            pseudonym_series_instance_uid=_text(ds, "SeriesInstanceUID"),
            pseudonym_sop_instance_uid=_text(ds, "SOPInstanceUID"),
            pseudonym_accession_number=_text(ds, "AccessionNumber"),
            patient_id=originals["PatientID"],
            patient_name=originals["PatientName"],
            patient_birth_date=originals["PatientBirthDate"],
            issuer_of_patient_id=originals["IssuerOfPatientID"],
            accession_number=originals["AccessionNumber"],
            study_id=originals["StudyID"],
            study_instance_uid=originals["StudyInstanceUID"],
            series_instance_uid=originals["SeriesInstanceUID"],
            sop_instance_uid=originals["SOPInstanceUID"],
        )
        return DeidResult(dataset=ds, quarantine_reason=reason, identity=identity)

    def _mark(self, ds: Dataset) -> None:
        """Mark ``ds`` de-identified: pre-encoded elements when it was read from bytes."""
        implicit, little = ds.original_encoding
        if implicit is None or little is None:
            mark_deidentified(ds, self._options, table_edition=self._table.edition)
            return
        marks = self._marks.get((implicit, little))
        if marks is None:
            marks = encoded_marks(
                self._options, table_edition=self._table.edition, implicit=implicit, little=little
            )
            self._marks[(implicit, little)] = marks
        elements = ds._dict
        for mark in marks:
            elements[mark.tag] = mark  # standard tags, raw: what Dataset.__setitem__ does

    def _fix_file_meta(self, ds: Dataset) -> None:
        meta = getattr(ds, "file_meta", None)
        if meta is None:
            return
        for tag in _META_REMOVED:
            if tag in meta:
                del meta[tag]
        sop_instance_uid = _text(ds, "SOPInstanceUID")
        if sop_instance_uid:
            meta.MediaStorageSOPInstanceUID = sop_instance_uid
        elif _MEDIA_STORAGE_SOP_INSTANCE_UID in meta:
            elem = meta[_MEDIA_STORAGE_SOP_INSTANCE_UID]
            elem.value = self._pseudonyms.uid(str(elem.value))

    def _walk(self, ds: Dataset, ctx: _Context, *, top_level: bool) -> None:
        """Apply the plan to every element of ``ds``, recursing into sequence items."""
        private: list[int] = []
        plan = self._plan
        # Plain ints: pydicom's BaseTag compares in Python, slowing every dict lookup.
        # Keep pydicom's own key objects for dataset access (identity makes lookups
        # cheap) and use plain ints for our tables (BaseTag compares in Python).
        for tag in list(ds.keys()):
            if (tag >> 16) & 1:
                private.append(tag)
                continue
            op = plan.operation(int(tag))
            if op is Operation.KEEP:
                continue
            try:
                self._apply(ds, tag, op, ctx, top_level)
            except DeidentificationError:
                raise
            except Exception as exc:
                raise DeidentificationError(
                    f"attribute ({tag >> 16:04X},{tag & 0xFFFF:04X}) "
                    f"{keyword_for_tag(tag) or 'unknown'} could not be de-identified "
                    f"({op.value}): {type(exc).__name__}: {exc}; the instance was not "
                    "stored: ask the sender to correct that attribute"
                ) from exc
        if private:
            self._private(ds, private, ctx)

    def _apply(self, ds: Dataset, tag: BaseTag, op: Operation, ctx: _Context, top: bool) -> None:
        # ``tag`` is the data set's own key and never private here, so pydicom's
        # element dictionary is used directly (pydicom 3, pinned): its item methods
        # cost microseconds each, on some forty elements an instance. Only the pixel
        # group (its group length) goes through pydicom, which resets pixel caches.
        elements = ds._dict
        if op is Operation.REMOVE:
            if tag >> 16 == _PIXEL_GROUP:
                del ds[tag]
            else:
                del elements[tag]
            return
        raw = elements[tag]
        vr = value_representation(raw, tag)
        if op is Operation.EMPTY:
            empty = encoded_empty(ds, tag, vr)
            if empty is not None:
                elements[tag] = empty
            else:
                ds[tag] = DataElement(tag, vr, empty_value(vr))
            return
        if op is Operation.DUMMY:
            if not is_empty(raw):
                dummy = dummy_value(vr)
                encoded = encoded_text(ds, tag, vr, dummy) if isinstance(dummy, str) else None
                if encoded is not None:
                    elements[tag] = encoded
                else:
                    ds[tag] = DataElement(tag, vr, dummy)
            return
        if op is Operation.DUMMY_CODE:
            if not is_empty(raw):
                ds[tag] = DataElement(tag, "SQ", Sequence([_dummy_code_item()]))
            return
        if op is Operation.REMAP_UID and isinstance(raw, RawDataElement):
            if raw.value:
                uids = raw.value.decode("ascii", "replace").split("\\")
                new = "\\".join(self._pseudonyms.uid(uid) for uid in uids)
                encoded = encoded_text(ds, tag, "UI", new)
                if encoded is not None:
                    elements[tag] = encoded
                else:
                    ds[tag] = DataElement(tag, "UI", new, validation_mode=config.IGNORE)
            return
        if top and op in _SET_AFTER_THE_WALK:
            return
        elem = ds[tag]
        if op is Operation.RECURSE:
            if not isinstance(elem.value, Sequence):
                del ds[tag]  # an unparseable sequence cannot be checked: drop it
                return
            for item in elem.value:
                self._walk(item, ctx, top_level=False)
        elif op is Operation.REMAP_UID:
            elem.value = _map_values(elem.value, self._pseudonyms.uid)
        elif op is Operation.SHIFT_DATE:
            shift = shift_da if vr == "DA" else shift_dt
            elem.value = _map_values(elem.value, lambda v: shift(v, ctx.shift_days))
        elif is_empty(raw):
            return
        elif op is Operation.PATIENT_ID:
            elem.value = (
                ctx.patient_pseudonym
                if top
                else self._pseudonyms.patient_id(str(elem.value).strip(" \x00"))
            )
        elif op is Operation.PATIENT_NAME:
            elem.value = ctx.patient_pseudonym if top else ""
        elif op is Operation.ACCESSION_NUMBER:
            elem.value = self._pseudonyms.accession_number(str(elem.value))
        elif op is Operation.STUDY_ID:
            elem.value = self._pseudonyms.study_id(str(elem.value))

    def _private(self, ds: Dataset, tags: list[int], ctx: _Context) -> None:
        """Remove private elements, keeping those on the safe-list and their creators."""
        if not self._safelist:
            _remove_all(ds, tags)
            return
        creators: dict[int, str] = {}
        for tag in tags:
            if 0x0010 <= tag & 0xFFFF <= 0x00FF:
                creators[tag] = str(ds[tag].value).strip(" \x00")
        kept_creators: set[int] = set()
        for tag in tags:
            element = tag & 0xFFFF
            if element < 0x1000:
                continue
            creator_tag = (tag & 0xFFFF0000) | (element >> 8)
            creator = creators.get(creator_tag)
            key = (tag >> 16, creator, element & 0xFF)
            if creator is not None and key in self._safelist:
                kept_creators.add(creator_tag)
                value = ds[tag].value
                if isinstance(value, Sequence):
                    for item in value:
                        self._walk(item, ctx, top_level=False)
            else:
                del ds[tag]
        for tag in tags:
            if tag & 0xFFFF < 0x1000 and tag not in kept_creators:
                del ds[tag]


def _remove_all(ds: Dataset, tags: list[int]) -> None:
    """Delete ``tags`` from ``ds``: the many private elements of a typical instance.

    pydicom's ``Dataset.__delitem__`` costs over a microsecond per call, and private
    elements are often half of an instance, so this deletes from the element
    dictionary directly (pydicom 3.0, pinned) and drops the private block cache
    exactly as ``__delitem__`` does for a private creator.
    """
    elements = getattr(ds, "_dict", None)
    if not isinstance(elements, dict):
        for tag in tags:
            del ds[tag]
        return
    for tag in tags:
        del elements[tag]
    ds._private_blocks = {}


def _map_values(value: Any, func: Any) -> Any:
    """Apply ``func`` to each string value of a possibly multi-valued element."""
    if value is None:
        return None
    if isinstance(value, MultiValue | list | tuple):
        return [func(str(v)) for v in value]
    return func(str(value))


def _dummy_code_item() -> Dataset:
    item = Dataset()
    item.CodeValue = DUMMY_TEXT
    item.CodingSchemeDesignator = "99HARMONIA"
    item.CodeMeaning = "De-identified"
    return item
