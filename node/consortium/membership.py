"""What a node keeps of its enrollment, under ``DATA_DIR/consortium`` (mode 0700).

=============================  ===============================================
``tls.key``                    the node's TLS key (EC P-256, 0600), made here
``supernode.key``              the Flower SuperNode key (EC P-256, 0600)
``certificate.pem``            the node's certificate, issued by the consortium
``ca.pem``                     the consortium CA bundle (pinned)
``guideline-signing.pem``      the guideline-signing public key (pinned)
``enrollment.json``            site, coordinator URLs, Fleet address, serial
=============================  ===============================================

``enrollment.json`` is written last, so its presence means a complete
enrollment. A new enrollment is assembled in a staging folder beside it and
renamed into place; a replaced one (``--force``) is kept as
``consortium.replaced-<time>``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from node.consortium.errors import NotEnrolledError
from shared.crypto import CryptoError, KeyFileError, load_public_key

__all__ = ["Membership", "MembershipFiles", "consortium_dir"]

TLS_KEY = "tls.key"
SUPERNODE_KEY = "supernode.key"
CERTIFICATE = "certificate.pem"
CA_BUNDLE = "ca.pem"
SIGNING_KEY = "guideline-signing.pem"
RECORD = "enrollment.json"


def consortium_dir(data_dir: Path) -> Path:
    """Where a node keeps its enrollment."""
    return data_dir / "consortium"


@dataclass(frozen=True)
class Membership:
    """The facts of an enrollment (``enrollment.json``)."""

    site: str
    enrollment_url: str
    coordinator_url: str
    fleet_address: str
    serial: str
    not_after: str
    enrolled_at: str

    def to_json(self) -> dict[str, Any]:
        """As stored."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Membership:
        """Read back what :meth:`to_json` wrote."""
        return cls(**{key: str(data[key]) for key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class MembershipFiles:
    """The files of one enrollment folder."""

    folder: Path

    @property
    def tls_key(self) -> Path:
        """The node's TLS private key."""
        return self.folder / TLS_KEY

    @property
    def supernode_key(self) -> Path:
        """The SuperNode private key."""
        return self.folder / SUPERNODE_KEY

    @property
    def certificate(self) -> Path:
        """The node's certificate."""
        return self.folder / CERTIFICATE

    @property
    def ca_bundle(self) -> Path:
        """The pinned consortium CA."""
        return self.folder / CA_BUNDLE

    @property
    def signing_key(self) -> Path:
        """The pinned guideline-signing public key."""
        return self.folder / SIGNING_KEY

    @property
    def record(self) -> Path:
        """``enrollment.json``."""
        return self.folder / RECORD

    def exists(self) -> bool:
        """Whether a complete enrollment is here."""
        return self.record.exists()

    def membership(self) -> Membership:
        """The enrollment's facts, or :class:`NotEnrolledError`."""
        if not self.exists():
            raise NotEnrolledError(
                f"this node is not enrolled ({self.record} is missing); run 'harmonia-node "
                "enroll --coordinator URL --token TOKEN' first"
            )
        try:
            return Membership.from_json(json.loads(self.record.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NotEnrolledError(
                f"{self.record} is unreadable ({exc}); enroll again with --force"
            ) from exc

    def pinned_signing_key(self) -> ed25519.Ed25519PublicKey:
        """The guideline-signing public key pinned at enrollment."""
        try:
            key = load_public_key(self.signing_key.read_bytes())
        except (OSError, CryptoError) as exc:
            raise NotEnrolledError(
                f"cannot read the pinned guideline-signing key {self.signing_key}: {exc}; "
                "enroll again with --force"
            ) from exc
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise KeyFileError(
                f"{self.signing_key} is not an Ed25519 key; enroll again with --force",
                path=str(self.signing_key),
            )
        return key
