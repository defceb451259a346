"""Release versions: dot-separated numbers (``1``, ``1.2``, ``2.0.1``) that must increase.

Versions compare numerically, part by part, missing parts counting as zero
(``1.10 > 1.9``, ``2 == 2.0``), so every site orders releases the same way.
"""

from __future__ import annotations

import re

from coordinator.errors import GuidelineVersionError

__all__ = ["parse_version"]

_VERSION = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$")


def parse_version(version: str) -> tuple[int, int, int, int]:
    """The comparable form of ``version``, or :class:`GuidelineVersionError`."""
    if not _VERSION.fullmatch(version):
        raise GuidelineVersionError(
            f"release version {version!r} is not a numeric version; use numbers separated by "
            "dots, e.g. '1', '1.1' or '2.0.1'"
        )
    parts = [int(p) for p in version.split(".")]
    parts += [0] * (4 - len(parts))
    return parts[0], parts[1], parts[2], parts[3]
