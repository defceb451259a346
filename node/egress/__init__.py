"""The egress gate: everything that leaves a node passes here, and is ledgered.

:class:`EgressGate` checks each outbound message against the allowlist of
:class:`MessageKind` and the kind's payload schema, scans it for canaries and
identifiers (:class:`CanaryScan`), charges its privacy cost to the site's
budget for the purpose (:class:`PrivacyBudget`), appends an entry to the
append-only, hash-chained :class:`EgressLedger` in the same transaction, and
returns the canonical bytes to send. Nothing else in the node may send data
out. See ``docs/privacy.md``.

Hospital IT verifies and exports the ledger (:meth:`EgressLedger.verify`,
:func:`render_ledger`; ``harmonia-node egress``) and reads each purpose's
spending (:func:`purpose_spending`) in the admin UI.

Errors are :class:`node.errors.EgressError` and its subclasses.
"""

from node.egress.budget import (
    Accountant,
    BasicComposition,
    PrivacyBudget,
    PrivacyCharge,
    Purpose,
    Spent,
)
from node.egress.canary import PHANTOM_CANARY_PATTERN, CanaryScan, Denylist, Finding
from node.egress.encoding import decode_payload, encode_payload
from node.egress.export import LedgerFormat, render_ledger
from node.egress.gate import EgressGate
from node.egress.kinds import (
    PURPOSE_OF,
    KindRules,
    MessageKind,
    Vocabulary,
    parse_kind,
    vocabulary_of,
)
from node.egress.ledger import (
    EgressLedger,
    LedgerEntry,
    LedgerVerification,
    Outcome,
    ledger_key,
    site_ledger_key,
)
from node.egress.payloads import STATISTICS_TYPES, validate_payload
from node.egress.spending import PurposeSpending, purpose_spending

__all__ = [
    "PHANTOM_CANARY_PATTERN",
    "PURPOSE_OF",
    "STATISTICS_TYPES",
    "Accountant",
    "BasicComposition",
    "CanaryScan",
    "Denylist",
    "EgressGate",
    "EgressLedger",
    "Finding",
    "KindRules",
    "LedgerEntry",
    "LedgerFormat",
    "LedgerVerification",
    "MessageKind",
    "Outcome",
    "PrivacyBudget",
    "PrivacyCharge",
    "Purpose",
    "PurposeSpending",
    "Spent",
    "Vocabulary",
    "decode_payload",
    "encode_payload",
    "ledger_key",
    "parse_kind",
    "purpose_spending",
    "render_ledger",
    "site_ledger_key",
    "validate_payload",
    "vocabulary_of",
]
