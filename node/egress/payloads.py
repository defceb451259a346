"""The payload schema of each message kind: numbers, fixed keys and closed sets of strings.

:func:`validate_payload` checks one payload against its kind (see the table in
:mod:`node.egress.kinds`). Refusals name the kind and the field, and list what
is allowed; they never quote a payload value, and the gate runs the canary scan
before this check, so no field name that reaches a message is a known identifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from node.egress.kinds import KindRules, MessageKind, Vocabulary, parse_kind
from node.egress.secure_payload import check_secure_aggregation
from node.errors import EgressRefusedError
from shared.agreement import (
    CategoryCountStats,
    CoincidenceStats,
    ConfusionStats,
    ContinuousStats,
    DetectionStats,
    DistanceHistogramStats,
    OverlapStats,
)
from shared.crypto import CryptoError, KeyAlgorithm, algorithm_of, load_csr, load_public_key
from shared.crypto.csr import csr_site_name
from shared.schemas.annotation import AnnotationSchemaError, parse_annotation

__all__ = ["STATISTICS_TYPES", "validate_payload"]

STATISTICS_TYPES: Mapping[str, Any] = {
    "category_counts": CategoryCountStats,
    "coincidence": CoincidenceStats,
    "confusion": ConfusionStats,
    "continuous": ContinuousStats,
    "detection": DetectionStats,
    "distance_histogram": DistanceHistogramStats,
    "overlap": OverlapStats,
}
"""The summable statistics of :mod:`shared.agreement` that may travel, by wire name."""
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")  # the guideline name pattern
_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,3}([.+-][A-Za-z0-9.]{1,32})?$")
_READER = re.compile(r"^r[0-9]{1,3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ENROLLMENT_TOKEN = re.compile(r"^hce\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.[A-Za-z0-9_-]{43}$")

_MODEL_METADATA: Mapping[str, type | tuple[type, ...]] = {
    "clip_norm": (int, float),
    "compression": str,
    "epochs": int,
    "guideline": str,
    "guideline_version": str,
    "model": str,
    "model_version": str,
    "noise_multiplier": (int, float),
    "num_examples": int,
    "train_loss": (int, float),
    "update": str,
}
_MODEL_CODES: Mapping[str, frozenset[str]] = {
    "compression": frozenset({"none", "fp16", "int8"}),
    "update": frozenset({"delta", "weights"}),
}
_EVALUATION_FIGURES = frozenset({"count", "loss_sum", "dice_sum", "accuracy_sum"})
_STATISTICS_CODES = frozenset({"iou", "distance_mm"})  # DetectionStats.score
_HEALTH_COUNTERS = ("annotations", "instances", "series", "studies", "tasks_done", "tasks_open")
_HISTOGRAMS: Mapping[str, frozenset[str] | None] = {
    "age_years": None,
    "label_prevalence": None,  # categories: the guideline's labels
    "manufacturer": frozenset(
        {
            "agfa",
            "canon",
            "carestream",
            "fujifilm",
            "ge",
            "hologic",
            "philips",
            "samsung",
            "siemens",
            "toshiba",
            "other",
            "unknown",
        }
    ),
    "modality": frozenset({"CR", "CT", "DX", "MG", "MR", "NM", "OT", "PT", "US", "XA"}),
    "sex": frozenset({"F", "M", "O", "unknown"}),
    "slice_thickness_mm": None,
}


def validate_payload(kind: str, payload: Any, rules: KindRules) -> MessageKind:
    """Check ``payload`` against ``kind``'s schema.

    Returns
    -------
    MessageKind
        The kind, parsed.

    Raises
    ------
    EgressRefusedError
        If ``kind`` is not on the allowlist or the payload does not fit it.
    """
    message_kind = parse_kind(kind)
    check = _Check(message_kind, rules)
    _VALIDATORS[message_kind](check, check.mapping(payload, "$"))
    return message_kind


class _Check:
    """The refusal helpers, bound to one kind."""

    def __init__(self, kind: MessageKind, rules: KindRules) -> None:
        self.kind = kind
        self.rules = rules

    def refuse(self, path: str, problem: str) -> EgressRefusedError:
        return EgressRefusedError(
            f"refused to release {self.kind}: {path} {problem}. Nothing was sent.",
            kind=str(self.kind),
            field=path,
        )

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.refuse(path, "must be an object")
        return value

    def keys(
        self,
        value: Mapping[str, Any],
        path: str,
        required: set[str],
        optional: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        missing = sorted(required - set(value))
        if missing:
            raise self.refuse(path, f"lacks {missing}")
        extra = set(value) - required - optional
        if extra:
            allowed = sorted(required | set(optional))  # never the offending keys: data
            raise self.refuse(path, f"has {len(extra)} field(s) outside the allowed {allowed}")

    def pattern(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self.refuse(path, f"must be {what}")
        return value

    def number(self, value: Any, path: str, types: type | tuple[type, ...] = (int, float)) -> None:
        if isinstance(value, bool) or not isinstance(value, types):
            raise self.refuse(path, "must be a number")
        if isinstance(value, float) and not np.isfinite(value):
            raise self.refuse(path, "must be finite")

    def numeric_array(self, value: Any, path: str, kinds: str = "biuf") -> np.ndarray[Any, Any]:
        if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
            raise self.refuse(path, f"must be a numpy array of dtype kind {sorted(kinds)}")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise self.refuse(path, "holds NaN or infinite values")
        return value

    def guideline(self, payload: Mapping[str, Any], path: str) -> Vocabulary:
        ref = self.mapping(payload.get("guideline"), f"{path}.guideline")
        self.keys(ref, f"{path}.guideline", {"name", "version"})
        name = self.pattern(ref["name"], f"{path}.guideline.name", _IDENT, "a guideline name")
        version = self.pattern(ref["version"], f"{path}.guideline.version", _IDENT, "a version")
        vocabulary = self.rules.vocabulary(name, version)
        if vocabulary is None:
            raise self.refuse(f"{path}.guideline", "names a guideline not loaded on this node")
        return vocabulary


def _model_update(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(payload, "$", {"arrays"}, {"metadata"})
    arrays = check.mapping(payload["arrays"], "$.arrays")
    if not arrays:
        raise check.refuse("$.arrays", "is empty")
    metadata = check.mapping(payload.get("metadata", {}), "$.metadata")
    kinds = "fi" if metadata.get("compression") == "int8" else "f"
    total = 0
    for name, array in arrays.items():
        path = f"$.arrays.{name}"
        check.pattern(name, "$.arrays.<key>", _ARRAY_NAME, "a layer name ([A-Za-z0-9_.-])")
        value = check.numeric_array(array, path, kinds)
        if value.dtype.kind == "i" and value.dtype != np.int8:
            raise check.refuse(path, "integer arrays of an int8 update must be int8")
        total += value.nbytes
    if total > check.rules.max_model_bytes:
        raise check.refuse("$.arrays", f"total {total} bytes, over {check.rules.max_model_bytes}")
    check.keys(metadata, "$.metadata", set(), set(_MODEL_METADATA))
    for key, value in metadata.items():
        if key in _MODEL_CODES:
            if value not in _MODEL_CODES[key]:
                raise check.refuse(
                    f"$.metadata.{key}", f"must be one of {sorted(_MODEL_CODES[key])}"
                )
        elif _MODEL_METADATA[key] is str:
            check.pattern(value, f"$.metadata.{key}", _IDENT, "an identifier")
        else:
            check.number(value, f"$.metadata.{key}", _MODEL_METADATA[key])
            if value < 0:
                raise check.refuse(f"$.metadata.{key}", "must not be negative")


def _evaluation_metrics(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(payload, "$", {"metrics"})
    metrics = check.mapping(payload["metrics"], "$.metrics")
    check.keys(metrics, "$.metrics", {"count"}, set(_EVALUATION_FIGURES))
    for key, value in metrics.items():
        check.number(value, f"$.metrics.{key}", (int, float))


def _agreement_statistics(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(payload, "$", {"guideline", "statistics"})
    vocabulary = check.guideline(payload, "$")
    entries = payload["statistics"]
    if not isinstance(entries, (list, tuple)) or not entries:
        raise check.refuse("$.statistics", "must be a non-empty list")
    allowed = vocabulary.labels | vocabulary.categories | _STATISTICS_CODES
    for index, entry in enumerate(entries):
        path = f"$.statistics[{index}]"
        entry = check.mapping(entry, path)
        check.keys(entry, path, {"label", "statistic", "arrays"})
        if entry["label"] not in vocabulary.labels:
            raise check.refuse(f"{path}.label", "is not a label of the guideline")
        cls = (
            STATISTICS_TYPES.get(entry["statistic"])
            if isinstance(entry["statistic"], str)
            else None
        )
        if cls is None:
            raise check.refuse(f"{path}.statistic", f"must be one of {sorted(STATISTICS_TYPES)}")
        arrays = check.mapping(entry["arrays"], f"{path}.arrays")
        for name, array in arrays.items():
            apath = f"{path}.arrays.{name}"
            if isinstance(array, np.ndarray) and array.dtype.kind == "U":
                if not set(array.ravel().tolist()) <= allowed:
                    raise check.refuse(apath, "holds strings that are not the guideline's codes")
            else:
                check.numeric_array(array, apath)
        try:
            expected = set(cls.from_arrays(arrays).to_arrays())
        except Exception as exc:
            raise check.refuse(
                f"{path}.arrays", f"is not a valid {entry['statistic']} ({type(exc).__name__})"
            ) from None
        if expected != set(arrays):
            raise check.refuse(f"{path}.arrays", f"must hold exactly {sorted(expected)}")


def _diversity_statistics(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(payload, "$", {"histograms"}, {"guideline"})
    vocabulary = check.guideline(payload, "$") if "guideline" in payload else None
    histograms = check.mapping(payload["histograms"], "$.histograms")
    check.keys(histograms, "$.histograms", set(), set(_HISTOGRAMS))
    for name, histogram in histograms.items():
        path = f"$.histograms.{name}"
        histogram = check.mapping(histogram, path)
        counts = check.numeric_array(histogram.get("counts"), f"{path}.counts")
        codes = _HISTOGRAMS[name]
        if name == "label_prevalence":
            if vocabulary is None:
                raise check.refuse("$.guideline", "is needed for label_prevalence")
            codes = vocabulary.labels
        if codes is None:
            check.keys(histogram, path, {"edges", "counts"})
            edges = check.numeric_array(histogram["edges"], f"{path}.edges")
            if edges.ndim != 1 or counts.shape != (edges.size - 1,):
                raise check.refuse(path, "needs one count per bin (len(edges) - 1)")
        else:
            check.keys(histogram, path, {"categories", "counts"})
            categories = histogram["categories"]
            if not isinstance(categories, np.ndarray) or categories.dtype.kind != "U":
                raise check.refuse(f"{path}.categories", "must be a string array")
            if not set(categories.ravel().tolist()) <= codes:
                raise check.refuse(f"{path}.categories", "holds values outside the fixed codes")
            if counts.shape != categories.shape:
                raise check.refuse(path, "needs one count per category")


def _calibration_annotations(check: _Check, payload: Mapping[str, Any]) -> None:
    # ``readers`` (case -> pseudonyms of the readers who completed it) tells "read it and
    # found nothing" apart from "did not read it"; it carries nothing but known ids.
    check.keys(payload, "$", {"calibration_set", "guideline", "annotations"}, {"readers"})
    vocabulary = check.guideline(payload, "$")
    set_id = check.pattern(payload["calibration_set"], "$.calibration_set", _IDENT, "an id")
    cases = check.rules.calibration_cases(set_id)
    if cases is None:
        raise check.refuse(
            "$.calibration_set", "is not a calibration set the coordinator published"
        )
    items = payload["annotations"]
    if not isinstance(items, (list, tuple)):
        raise check.refuse("$.annotations", "must be a list")
    for index, item in enumerate(items):
        path = f"$.annotations[{index}]"
        item = check.mapping(item, path)
        check.keys(item, path, {"case", "reader", "annotation"})
        if item["case"] not in cases:
            raise check.refuse(f"{path}.case", "is not a case of the calibration set")
        check.pattern(item["reader"], f"{path}.reader", _READER, "a reader pseudonym (r1, r2...)")
        try:
            annotation = parse_annotation(item["annotation"])
        except AnnotationSchemaError:
            raise check.refuse(f"{path}.annotation", "is not a valid annotation") from None
        if annotation.label not in vocabulary.labels:
            raise check.refuse(f"{path}.annotation.label", "is not a label of the guideline")
        if annotation.comment:
            raise check.refuse(f"{path}.annotation.comment", "must be empty (free text stays home)")
        value = getattr(annotation.geometry, "value", None)
        if value is not None and value not in vocabulary.categories:
            raise check.refuse(f"{path}.annotation.geometry.value", "is not a category code")
    roster = check.mapping(payload.get("readers", {}), "$.readers")
    for case, readers in roster.items():
        if case not in cases:
            raise check.refuse("$.readers.<key>", "is not a case of the calibration set")
        if not isinstance(readers, (list, tuple)):
            raise check.refuse("$.readers.<case>", "must be a list of reader pseudonyms")
        for reader in readers:
            check.pattern(reader, "$.readers.<case>[]", _READER, "a reader pseudonym (r1, r2...)")


def _health(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(
        payload,
        "$",
        {"software_version"},
        {"schema_revision", "flwr_version", "python_version", "uptime_s", "counters"},
    )
    for key in ("software_version", "flwr_version", "python_version"):
        if key in payload:
            check.pattern(payload[key], f"$.{key}", _VERSION, "a version number")
    if "schema_revision" in payload:
        check.pattern(
            payload["schema_revision"],
            "$.schema_revision",
            re.compile(r"^[0-9]{4}$"),
            "a 4-digit revision",
        )
    if "uptime_s" in payload:
        check.number(payload["uptime_s"], "$.uptime_s", int)
    counters = check.mapping(payload.get("counters", {}), "$.counters")
    check.keys(counters, "$.counters", set(), set(_HEALTH_COUNTERS))
    for key, value in counters.items():
        check.number(value, f"$.counters.{key}", int)


def _enrollment_request(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(
        payload,
        "$",
        {"site", "csr_pem", "supernode_public_key_pem"},
        {"software_version", "token"},
    )
    if "token" in payload:  # the coordinator's one-time credential, not data about the site
        check.pattern(payload["token"], "$.token", _ENROLLMENT_TOKEN, "an enrollment token")
    if "software_version" in payload:
        check.pattern(payload["software_version"], "$.software_version", _VERSION, "a version")
    for key in ("csr_pem", "supernode_public_key_pem"):
        if not isinstance(payload[key], str) or len(payload[key]) > 8192:
            raise check.refuse(f"$.{key}", "must be a PEM string")
    try:
        site = csr_site_name(load_csr(payload["csr_pem"]))
    except CryptoError:
        raise check.refuse("$.csr_pem", "is not a valid CSR for a site name") from None
    if site != payload["site"]:
        raise check.refuse("$.site", "differs from the CSR's common name")
    try:
        public_key = load_public_key(payload["supernode_public_key_pem"])
        ok = algorithm_of(public_key) is KeyAlgorithm.EC_P256
    except CryptoError:
        ok = False
    if not ok:
        raise check.refuse("$.supernode_public_key_pem", "must be an EC P-256 public key PEM")


def _guideline_ack(check: _Check, payload: Mapping[str, Any]) -> None:
    check.keys(payload, "$", {"guideline", "sha256", "status"})
    ref = check.mapping(payload["guideline"], "$.guideline")
    check.keys(ref, "$.guideline", {"name", "version"})
    check.pattern(ref["name"], "$.guideline.name", _IDENT, "a guideline name")
    check.pattern(ref["version"], "$.guideline.version", _IDENT, "a version")
    check.pattern(payload["sha256"], "$.sha256", _SHA256, "a lower-case hex SHA-256")
    if payload["status"] not in ("verified", "refused"):
        raise check.refuse("$.status", "must be 'verified' or 'refused'")


_VALIDATORS: Mapping[MessageKind, Callable[[_Check, Mapping[str, Any]], None]] = {
    MessageKind.MODEL_UPDATE: _model_update,
    MessageKind.EVALUATION_METRICS: _evaluation_metrics,
    MessageKind.AGREEMENT_STATISTICS: _agreement_statistics,
    MessageKind.DIVERSITY_STATISTICS: _diversity_statistics,
    MessageKind.CALIBRATION_ANNOTATIONS: _calibration_annotations,
    MessageKind.HEALTH: _health,
    MessageKind.ENROLLMENT_REQUEST: _enrollment_request,
    MessageKind.GUIDELINE_ACK: _guideline_ack,
    MessageKind.SECURE_AGGREGATION: check_secure_aggregation,
}
