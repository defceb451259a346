"""The payload schema of ``secure_aggregation``: a secure sum's layout, or SecAgg+ protocol traffic.

Two forms, told apart by ``stage``:

``layout``
    ``{"stage": "layout", "layout": {...}}`` — the public layout of a
    statistics round's secure sum (:class:`shared.privacy.StatisticsLayout`):
    a guideline version loaded on this node, its label names and category
    codes, the fixed diversity bins and codes, value domains, the detection
    score, array shapes. Nothing else: every string is checked against the
    guideline's vocabulary or a fixed code list.
``setup``, ``share_keys``, ``collect_masked_vectors``, ``unmask``
    ``{"stage": ..., "protocol": {...}, "receipt": {...}}`` — what Flower's
    ``secaggplus_mod`` answers in that stage, and nothing more: public keys
    (``pk1``, ``pk2``), destination node ids and encrypted key shares
    (``dsts``, ``ctxts``), masked vectors (``masked_params``: NumPy ``.npy``
    buffers of non-negative integers, nothing else), node ids and key shares
    (``nids``, ``shares``). The optional ``receipt`` names the ledgered
    releases a masked vector encodes: per kind, its byte count, SHA-256 and
    charge.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from node.egress.payloads import _Check

__all__ = ["check_secure_aggregation"]

_PROTOCOL: Mapping[str, Mapping[str, str]] = {
    "setup": {"pk1": "bytes", "pk2": "bytes"},
    "share_keys": {"dsts": "ints", "ctxts": "bytes_list"},
    "collect_masked_vectors": {"masked_params": "vectors"},
    "unmask": {"nids": "ints", "shares": "bytes_list"},
}
_MAX_BLOB = 4096  # a public key, an encrypted share pair, a key share
_MAX_VECTOR = 1 << 28
_RECEIPT = re.compile(
    r"^(agreement_statistics|diversity_statistics|model_update)\."
    r"(bytes|sha256|epsilon|delta|mechanism|guideline|guideline_version)$"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MECHANISM = re.compile(r"^(gaussian-z[0-9.e+-]+-k[0-9]+|dpsgd-z[0-9.e+-]+-q[0-9.e+-]+-s[0-9]+)$")
_PUBLIC: Mapping[str, str] = {
    "confusion": "categories",
    "coincidence": "values",
    "overlap": "labels",
    "detection": "score",
}
_SUMMED: Mapping[str, frozenset[str]] = {
    "confusion": frozenset({"counts"}),
    "coincidence": frozenset({"coincidences"}),
    "overlap": frozenset(
        {
            "n_cases",
            "intersection",
            "size_a",
            "size_b",
            "case_dice_sum",
            "both_empty",
            "dice_histogram",
        }
    ),
    "detection": frozenset({"n_cases", "n_a", "n_b", "n_matched", "score_sum", "case_f1_sum"}),
}


def check_secure_aggregation(check: _Check, payload: Mapping[str, Any]) -> None:
    """Refuse anything in a ``secure_aggregation`` payload beyond its two forms."""
    stage = payload.get("stage")
    if stage == "layout":
        check.keys(payload, "$", {"stage", "layout"})
        _layout(check, check.mapping(payload["layout"], "$.layout"))
        return
    if not isinstance(stage, str) or stage not in _PROTOCOL:
        raise check.refuse("$.stage", f"must be one of {['layout', *_PROTOCOL]}")
    check.keys(payload, "$", {"stage", "protocol"}, {"receipt"})
    protocol = check.mapping(payload["protocol"], "$.protocol")
    fields = _PROTOCOL[stage]
    check.keys(protocol, "$.protocol", set(fields))
    for key, form in fields.items():
        _protocol_value(check, f"$.protocol.{key}", protocol[key], form)
    receipt = check.mapping(payload.get("receipt", {}), "$.receipt")
    for key, value in receipt.items():
        match = _RECEIPT.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise check.refuse("$.receipt.<key>", "must be '<statistics kind>.<field>'")
        field = match[2]
        if field == "sha256":
            check.pattern(value, f"$.receipt.{key}", _SHA256, "a lower-case hex SHA-256")
        elif field == "mechanism":
            check.pattern(value, f"$.receipt.{key}", _MECHANISM, "a Gaussian or DP-SGD mechanism")
        elif field in ("guideline", "guideline_version"):
            if match[1] != "model_update":
                raise check.refuse(f"$.receipt.{key}", "only a model update's receipt names it")
            check.pattern(value, f"$.receipt.{key}", _NAME, "a guideline name or version")
        else:
            check.number(value, f"$.receipt.{key}")


def _protocol_value(check: _Check, path: str, value: Any, form: str) -> None:
    if form == "bytes":
        if not isinstance(value, bytes) or len(value) > _MAX_BLOB:
            raise check.refuse(path, f"must be bytes of at most {_MAX_BLOB}")
        return
    if not isinstance(value, (list, tuple)):
        raise check.refuse(path, "must be a list")
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if form == "ints":
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise check.refuse(where, "must be a node id")
        elif form == "bytes_list":
            if not isinstance(item, bytes) or len(item) > _MAX_BLOB:
                raise check.refuse(where, f"must be bytes of at most {_MAX_BLOB}")
        else:
            _masked_vector(check, where, item)


def _masked_vector(check: _Check, path: str, item: Any) -> None:
    if not isinstance(item, bytes) or len(item) > _MAX_VECTOR:
        raise check.refuse(path, "must be the bytes of a masked vector")
    try:
        array = np.load(io.BytesIO(item), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise check.refuse(path, "is not a NumPy array buffer") from None
    if array.dtype.kind not in "iu" or (array.size and int(array.min()) < 0):
        raise check.refuse(path, "must hold non-negative integers (a masked vector) only")


def _layout(check: _Check, layout: Mapping[str, Any]) -> None:
    from node.egress.payloads import _HISTOGRAMS

    check.keys(layout, "$.layout", {"guideline", "statistics", "histograms"})
    vocabulary = check.guideline(layout, "$.layout")
    entries = layout["statistics"]
    if not isinstance(entries, (list, tuple)):
        raise check.refuse("$.layout.statistics", "must be a list")
    for index, entry in enumerate(entries):
        path = f"$.layout.statistics[{index}]"
        entry = check.mapping(entry, path)
        check.keys(entry, path, {"label", "statistic", "public", "shapes"})
        if entry["label"] not in vocabulary.labels:
            raise check.refuse(f"{path}.label", "is not a label of the guideline")
        statistic = entry["statistic"]
        if statistic not in _PUBLIC:
            raise check.refuse(f"{path}.statistic", f"must be one of {sorted(_PUBLIC)}")
        public = check.mapping(entry["public"], f"{path}.public")
        check.keys(public, f"{path}.public", {_PUBLIC[statistic]})
        value = public[_PUBLIC[statistic]]
        if statistic == "confusion":
            if not isinstance(value, list) or any(c not in vocabulary.categories for c in value):
                raise check.refuse(f"{path}.public.categories", "must be the guideline's codes")
        elif statistic == "detection":
            if value not in ("iou", "distance_mm"):
                raise check.refuse(f"{path}.public.score", "must be 'iou' or 'distance_mm'")
        else:
            _numbers(check, f"{path}.public.{_PUBLIC[statistic]}", value)
        shapes = check.mapping(entry["shapes"], f"{path}.shapes")
        check.keys(shapes, f"{path}.shapes", set(_SUMMED[statistic]))
        for name, shape in shapes.items():
            _numbers(check, f"{path}.shapes.{name}", shape, whole=True)
    histograms = layout["histograms"]
    if not isinstance(histograms, (list, tuple)):
        raise check.refuse("$.layout.histograms", "must be a list")
    for index, histogram in enumerate(histograms):
        path = f"$.layout.histograms[{index}]"
        histogram = check.mapping(histogram, path)
        check.keys(histogram, path, {"name", "public", "bins"})
        name = histogram["name"]
        if name not in _HISTOGRAMS:
            raise check.refuse(f"{path}.name", f"must be one of {sorted(_HISTOGRAMS)}")
        check.number(histogram["bins"], f"{path}.bins", int)
        public = check.mapping(histogram["public"], f"{path}.public")
        codes = vocabulary.labels if name == "label_prevalence" else _HISTOGRAMS[name]
        if codes is None:
            check.keys(public, f"{path}.public", {"edges"})
            _numbers(check, f"{path}.public.edges", public["edges"])
        else:
            check.keys(public, f"{path}.public", {"categories"})
            categories = public["categories"]
            if not isinstance(categories, list) or any(c not in codes for c in categories):
                raise check.refuse(f"{path}.public.categories", "holds values outside the codes")


def _numbers(check: _Check, path: str, value: Any, *, whole: bool = False) -> None:
    if not isinstance(value, list):
        raise check.refuse(path, "must be a list of numbers")
    for item in value:
        check.number(item, path, int if whole else (int, float))
