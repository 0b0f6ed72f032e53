"""The ledger's value objects: accounts, transfers, outcomes and balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from ledger.errors import DECLINES

AccountKind = Literal[
    "funding_source",
    "funding_pot",
    "team_budget",
    "worker_wallet",
    "card_clearing",
    "refunds",
    "overspend_receivable",
]
TransferKind = Literal["allocation", "hold", "capture", "release", "expiry", "excess", "refund", "reversal"]

#: Kinds whose debits may never exceed their credits (budgets and wallets).
LIMITED_KINDS: frozenset[str] = frozenset({"funding_pot", "team_budget", "worker_wallet"})
#: House accounts touched by every card payment: their balances are summed from transfers
#: rather than kept on one row that every hold would have to lock.
UNTRACKED_KINDS: frozenset[str] = frozenset({"card_clearing", "refunds"})


@dataclass(frozen=True, slots=True)
class Account:
    """An account's identity and flags (which never change once opened)."""

    id: int
    code: str
    name: str
    kind: AccountKind
    ledger: str
    debits_must_not_exceed_credits: bool
    tracks_balance: bool


@dataclass(frozen=True, slots=True)
class Transfer:
    """One immutable movement of ``amount`` pence from ``debit_account_id`` to ``credit_account_id``."""

    id: str
    operation_id: str
    kind: TransferKind
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: str
    pending_id: str | None
    refund_of_id: str | None
    reverses_id: str | None
    expires_at: datetime | None
    flagged: bool
    accounting_date: date
    recorded_at: datetime
    memo: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a request to the ledger came to: the transfers it made, or the decline it met.

    ``replayed`` is true when the id had been seen before and this is the first answer again.
    """

    transfer_id: str
    transfers: tuple[Transfer, ...]
    declined: str | None
    replayed: bool

    @property
    def accepted(self) -> bool:
        """Whether the request moved money."""
        return self.declined is None

    @property
    def transfer(self) -> Transfer:
        """The request's own transfer (the one whose id is ``transfer_id``)."""
        self.raise_if_declined()
        return next(t for t in self.transfers if t.id == self.transfer_id)

    @property
    def flagged(self) -> tuple[Transfer, ...]:
        """Transfers the ledger flagged for review (captures above their hold)."""
        return tuple(t for t in self.transfers if t.flagged)

    def raise_if_declined(self) -> None:
        """Raise the decline's error class, for callers that prefer exceptions."""
        if self.declined is not None:
            raise DECLINES[self.declined](f"transfer {self.transfer_id} declined: {self.declined}")


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's four counters, in pence, and what is left to spend."""

    account_id: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def available(self) -> int:
        """Credits posted less every debit, pending or posted: what a new hold may take."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def posted(self) -> int:
        """Credits posted less debits posted."""
        return self.credits_posted - self.debits_posted


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken invariant found by ``verify``: which check, about what, and how."""

    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"
