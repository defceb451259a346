"""The egress gate: the one way anything leaves a node.

:meth:`EgressGate.release` takes a message kind, its payload, a destination
and, for kinds charged to a privacy budget, the release's privacy parameters.
In order, it

1. checks the kind is on the allowlist (:mod:`node.egress.kinds`);
2. scans the payload for canaries, hospital UIDs and denylisted identifiers
   (:mod:`node.egress.canary`), before anything else looks inside it;
   then checks the payload fits its kind's schema;
3. encodes it canonically (:mod:`node.egress.encoding`): the bytes returned
   are exactly the bytes hashed in the ledger;
4. in one database transaction, under the ledger's lock: adds the charge to
   what the purpose has spent, refuses it if the budget would be passed
   (:mod:`node.egress.budget`), and appends the ledger entry.

Only then does the caller get the bytes to send. A refusal raises an
:class:`~node.errors.EgressError`, charges nothing, and is written to the
ledger as ``refused`` (kind, field and rule, never the payload) so hospital IT
sees what was stopped. Transports (the Flower ClientApp, the coordinator
client) take the gate's bytes and nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from node.egress.budget import (
    Accountant,
    BasicComposition,
    PrivacyBudget,
    PrivacyCharge,
    Purpose,
    Spent,
    check_budget,
)
from node.egress.canary import CanaryScan
from node.egress.encoding import encode_payload
from node.egress.kinds import PURPOSE_OF, KindRules, MessageKind, parse_kind
from node.egress.ledger import EgressLedger, LedgerEntry, Outcome
from node.egress.payloads import validate_payload
from node.errors import CanaryDetectedError, EgressError, EgressRefusedError
from shared.crypto import CsrError, check_site_name
from shared.errors import ConfigurationError

__all__ = ["EgressGate"]

_log = logging.getLogger(__name__)

_DESTINATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,255}$")
_ROUND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


class EgressGate:
    """Validate, scan, charge and record every outbound message.

    Parameters
    ----------
    engine
        The node's database (the ledger lives there).
    site
        This node's site name.
    rules
        What the kinds' checks need (the guideline vocabularies, calibration sets).
    scan
        The canary scan; by default the phantom canaries only.
    budgets
        The privacy budget of each purpose; a purpose without one releases nothing.
    accountant
        How charges compose; basic composition by default.
    require_privacy
        Refuse kinds charged to a budget when no privacy parameters are given.
        Only a development profile turns this off (noise-free test rounds);
        such releases are then ledgered without a charge.
    ledger_key
        The ledger's MAC key (:func:`~node.egress.ledger.ledger_key` of the site
        secret); only tests leave it out.
    clock
        Returns the current time (timezone-aware).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        site: str,
        rules: KindRules | None = None,
        scan: CanaryScan | None = None,
        budgets: Mapping[Purpose, PrivacyBudget] | None = None,
        accountant: Accountant | None = None,
        require_privacy: bool = True,
        ledger_key: bytes | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        try:
            self.site = check_site_name(site)
        except CsrError as exc:
            raise ConfigurationError(str(exc), setting="site") from exc
        self.rules = rules or KindRules()
        self.scan = scan or CanaryScan()
        self.budgets = dict(budgets or {})
        self.accountant = accountant or BasicComposition()
        self.require_privacy = require_privacy
        self._clock = clock
        self.ledger = (
            EgressLedger(engine, clock=clock)
            if ledger_key is None
            else EgressLedger(engine, key=ledger_key, clock=clock)
        )
        self.engine = engine

    def release(
        self,
        kind: str,
        payload: Mapping[str, Any],
        destination: str,
        round_id: str | None = None,
        privacy: PrivacyCharge | None = None,
    ) -> bytes:
        """Let one message out: the bytes to send, once checked, charged and ledgered.

        Parameters
        ----------
        kind
            A :class:`~node.egress.kinds.MessageKind` value.
        payload
            The message (see the kind's schema).
        destination
            Where it goes (``coordinator``, ``superlink``, a URL).
        round_id
            The federated round it answers, if any.
        privacy
            Its privacy parameters; required for kinds charged to a budget.

        Returns
        -------
        bytes
            The canonical encoding of ``payload``: send exactly these.

        Raises
        ------
        EgressRefusedError
            A kind off the allowlist, a payload off its schema, a missing or
            unexpected privacy statement, a malformed destination or round.
        CanaryDetectedError
            Identifying content in the payload.
        BudgetExceededError
            The charge would pass the purpose's budget.
        """
        data: bytes | None = None
        try:
            message_kind = parse_kind(kind)
            # the scan runs before the schema, so no refusal message or ledger reason can
            # ever name a field whose name is itself a canary or a denylisted identifier
            self.scan.check(payload, kind=str(message_kind))
            validate_payload(message_kind, payload, self.rules)
            purpose = PURPOSE_OF[message_kind]
            self._check_envelope(message_kind, purpose, destination, round_id, privacy)
            data = encode_payload(payload)
            self._commit(message_kind, purpose, data, destination, round_id, privacy)
        except EgressError as refusal:
            self._record_refusal(refusal, kind, destination, round_id, data)
            raise
        return data

    def remaining(self, purpose: Purpose) -> Spent | None:
        """What is left of ``purpose``'s budget now (None when it has no budget)."""
        budget = self.budgets.get(purpose)
        if budget is None:
            return None
        with self.engine.connect() as connection:
            spent = self.accountant.compose(
                self.ledger.charges(
                    connection, site=self.site, purpose=purpose, since=self._since(budget)
                )
            )
        return Spent(max(0.0, budget.epsilon - spent.epsilon), max(0.0, budget.delta - spent.delta))

    def _check_envelope(
        self,
        kind: MessageKind,
        purpose: Purpose | None,
        destination: str,
        round_id: str | None,
        privacy: PrivacyCharge | None,
    ) -> None:
        if not isinstance(destination, str) or not _DESTINATION.fullmatch(destination):
            raise EgressRefusedError(
                f"refused to release {kind}: the destination must be a host, address or URL.",
                kind=str(kind),
                field="destination",
            )
        if round_id is not None and not (isinstance(round_id, str) and _ROUND.fullmatch(round_id)):
            raise EgressRefusedError(
                f"refused to release {kind}: a round id is letters, digits and '_.:-'.",
                kind=str(kind),
                field="round_id",
            )
        if purpose is None and privacy is not None:
            raise EgressRefusedError(
                f"refused to release {kind}: it is not charged to a privacy budget, so it "
                "takes no privacy parameters.",
                kind=str(kind),
                field="privacy",
            )
        if purpose is not None and privacy is None and self.require_privacy:
            raise EgressRefusedError(
                f"refused to release {kind}: it is charged to the {purpose} budget, so state "
                "its privacy parameters (epsilon, delta, mechanism).",
                kind=str(kind),
                field="privacy",
            )

    def _since(self, budget: PrivacyBudget) -> str | None:
        if budget.period is None:
            return None
        start = self._clock().astimezone(UTC) - budget.period
        return start.isoformat(timespec="microseconds")

    def _commit(
        self,
        kind: MessageKind,
        purpose: Purpose | None,
        data: bytes,
        destination: str,
        round_id: str | None,
        privacy: PrivacyCharge | None,
    ) -> LedgerEntry:
        with self.engine.begin() as connection:
            claim = self.ledger.claim(connection)
            after: Spent | None = None
            if purpose is not None and privacy is not None:
                budget = self.budgets.get(purpose)
                charges = self.ledger.charges(
                    connection,
                    site=self.site,
                    purpose=purpose,
                    since=self._since(budget) if budget else None,
                )
                before = self.accountant.compose(charges)
                after = self.accountant.compose([*charges, privacy])
                check_budget(
                    kind=str(kind),
                    purpose=purpose,
                    budget=budget,
                    before=before,
                    after=after,
                    charge=privacy,
                )
            return self.ledger.append(
                connection,
                claim,
                site=self.site,
                outcome=Outcome.RELEASED,
                kind=str(kind),
                destination=destination,
                byte_count=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                round_id=round_id,
                purpose=purpose,
                charge=privacy,
                spent=after,
            )

    def _record_refusal(
        self,
        refusal: EgressError,
        kind: str,
        destination: str,
        round_id: str | None,
        data: bytes | None,
    ) -> None:
        reason = type(refusal).__name__
        where = getattr(refusal, "field", None)
        if where:
            reason += f" at {where}"
        if isinstance(refusal, CanaryDetectedError):
            reason += f" ({refusal.rule})"
        safe_kind = str(kind) if str(kind) in set(MessageKind) else "<not allowed>"
        try:
            self._write_refusal(reason, safe_kind, destination, round_id, data)
        except Exception:  # the refusal itself must still reach the caller
            _log.exception("could not ledger a refused %s release", safe_kind)

    def _write_refusal(
        self, reason: str, kind: str, destination: str, round_id: str | None, data: bytes | None
    ) -> None:
        self.ledger.record(
            site=self.site,
            outcome=Outcome.REFUSED,
            kind=kind,
            destination=destination if _DESTINATION.fullmatch(str(destination)) else "<invalid>",
            byte_count=len(data) if data is not None else 0,
            sha256=hashlib.sha256(data).hexdigest() if data is not None else "",
            round_id=round_id if round_id and _ROUND.fullmatch(str(round_id)) else None,
            reason=reason,
        )
