"""Per-site de-identification options (PS3.15 E.3) and the private-tag safe-list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from node.settings import NodeSettings

__all__ = ["DeidOptions", "PrivateTagRule"]

_RULE = re.compile(r'^\s*([0-9A-Fa-f]{4})\s*,\s*"([^"\\]{1,64})"\s*,\s*([0-9A-Fa-f]{2})\s*$')


@dataclass(frozen=True)
class PrivateTagRule:
    """One private attribute kept despite the profile: group, creator and element offset.

    Parameters
    ----------
    group
        The odd group number, for example ``0x0009``.
    creator
        The Private Creator string that reserves the block, for example ``"GEMS_IDEN_01"``.
        Compared without leading or trailing spaces, case-sensitively.
    element
        The element offset inside the block (the low byte of the element), ``0x00``-``0xFF``.
    """

    group: int
    creator: str
    element: int

    def __post_init__(self) -> None:
        if not (0x0009 <= self.group <= 0xFFFF and self.group % 2 == 1):
            raise ConfigurationError(
                f"private tag rule group {self.group:#06x} is not an odd group above 0008; "
                "private attributes live in odd groups",
                setting="private_tag_safelist",
            )
        if not 0 <= self.element <= 0xFF:
            raise ConfigurationError(
                f"private tag rule element offset {self.element:#x} must be 00-FF",
                setting="private_tag_safelist",
            )
        if not self.creator.strip():
            raise ConfigurationError(
                "private tag rule needs a non-empty private creator string",
                setting="private_tag_safelist",
            )
        object.__setattr__(self, "creator", self.creator.strip())

    @classmethod
    def parse(cls, text: str) -> PrivateTagRule:
        """Parse ``'gggg,"Creator",ee'`` (hexadecimal group and element offset).

        Raises
        ------
        shared.errors.ConfigurationError
            When ``text`` does not have that shape.
        """
        match = _RULE.match(text)
        if match is None:
            raise ConfigurationError(
                f"private tag safe-list entry {text!r} is malformed: write it as "
                "'gggg,\"Private Creator\",ee', for example '0009,\"GEMS_IDEN_01\",01'",
                setting="private_tag_safelist",
            )
        group, creator, element = match.groups()
        return cls(int(group, 16), creator, int(element, 16))

    def __str__(self) -> str:
        return f'{self.group:04X},"{self.creator}",{self.element:02X}'


@dataclass(frozen=True)
class DeidOptions:
    """Which PS3.15 Annex E options a site applies on top of the Basic Profile.

    Parameters
    ----------
    retain_longitudinal_modified_dates
        Retain Longitudinal Temporal Information with Modified Dates Option: dates
        and date-times are shifted by a whole number of days, the same for all of
        one patient's data; times of day are kept, so intervals stay exact.
    retain_patient_characteristics
        Retain Patient Characteristics Option: keep age, sex, size, weight, ethnic
        group, smoking and pregnancy status.
    private_tag_safelist
        Private attributes to keep; every other private attribute is removed.
    max_date_shift_days
        Dates move back by 1 to this many days (derived per patient); at least 1.
    """

    retain_longitudinal_modified_dates: bool = False
    retain_patient_characteristics: bool = False
    private_tag_safelist: tuple[PrivateTagRule, ...] = ()
    max_date_shift_days: int = 3652

    def __post_init__(self) -> None:
        if self.max_date_shift_days < 1:
            raise ConfigurationError(
                f"max_date_shift_days is {self.max_date_shift_days}; it must be at least 1",
                setting="max_date_shift_days",
            )
        object.__setattr__(self, "private_tag_safelist", tuple(self.private_tag_safelist))

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> DeidOptions:
        """Build the options from the node's settings.

        Raises
        ------
        shared.errors.ConfigurationError
            When a ``private_tag_safelist`` entry is malformed.
        """
        return cls(
            retain_longitudinal_modified_dates=settings.retain_longitudinal_modified_dates,
            retain_patient_characteristics=settings.retain_patient_characteristics,
            private_tag_safelist=tuple(
                PrivateTagRule.parse(text) for text in settings.private_tag_safelist
            ),
        )
