"""What changed between two revisions of an annotation.

The payloads are flattened to dotted paths (``geometry.x0``, ``comment``) and
compared; mask RLEs are summarised as pixels added and removed per slice
rather than listed.
"""

from __future__ import annotations

from typing import Any

from shared.formats.rle import rle_decode

__all__ = ["diff_payloads"]


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key in value:
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def _mask_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, int]]:
    slices_a = (before.get("geometry") or {}).get("slices") or {}
    slices_b = (after.get("geometry") or {}).get("slices") or {}
    changes = {}
    for key in sorted(set(slices_a) | set(slices_b), key=int):
        a, b = slices_a.get(key), slices_b.get(key)
        if a == b:
            continue
        mask_a = rle_decode(a) if a else None
        mask_b = rle_decode(b) if b else None
        if mask_a is None:
            assert mask_b is not None
            changes[key] = {"added": int(mask_b.sum()), "removed": 0}
        elif mask_b is None:
            changes[key] = {"added": 0, "removed": int(mask_a.sum())}
        else:
            changes[key] = {
                "added": int((mask_b & ~mask_a).sum()),
                "removed": int((mask_a & ~mask_b).sum()),
            }
    return changes


def _without_rle(payload: dict[str, Any]) -> dict[str, Any]:
    geometry = {k: v for k, v in (payload.get("geometry") or {}).items() if k != "slices"}
    return {**payload, "geometry": geometry}


def diff_payloads(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed between two stored payloads.

    Returns ``{"changes": [{"path", "from", "to"}...]}`` over the flattened
    payloads (mask RLEs summarised), plus ``"mask"``: per slice, pixels added and
    removed, for masks.
    """
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    is_mask = before.get("kind") == "mask" or after.get("kind") == "mask"
    _flatten(_without_rle(before) if is_mask else before, "", flat_a)
    _flatten(_without_rle(after) if is_mask else after, "", flat_b)
    changes = [
        {"path": path, "from": flat_a.get(path), "to": flat_b.get(path)}
        for path in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(path) != flat_b.get(path)
    ]
    result: dict[str, Any] = {"changes": changes}
    if is_mask:
        result["mask"] = _mask_changes(before, after)
        for key in result["mask"]:
            changes.append({"path": f"geometry.slices.{key}", "from": "…", "to": "…"})
    return result
