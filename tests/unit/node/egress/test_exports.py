from __future__ import annotations

import node.egress as egress
from node.errors import (
    BudgetExceededError,
    CanaryDetectedError,
    EgressError,
    EgressRefusedError,
    NodeError,
)

EXPECTED = [
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


def test_export_list_is_exact_and_sorted() -> None:
    assert egress.__all__ == EXPECTED

    def group(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(egress.__all__, key=group) == egress.__all__
    for name in egress.__all__:
        assert getattr(egress, name) is not None


def test_error_tree_and_http_status() -> None:
    from node.api.errors import status_for

    for error in (EgressRefusedError, CanaryDetectedError, BudgetExceededError):
        assert issubclass(error, EgressError)
    assert issubclass(EgressError, NodeError)
    assert status_for(EgressRefusedError("x")) == 403
    assert status_for(CanaryDetectedError("x", field="$", rule="denylist")) == 403
    budget = BudgetExceededError(
        "x", purpose="statistics", remaining_epsilon=0.0, remaining_delta=0.0
    )
    assert status_for(budget) == 409


def test_every_kind_has_a_purpose_entry() -> None:
    assert set(egress.PURPOSE_OF) == set(egress.MessageKind)
