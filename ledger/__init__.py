"""The ledger: double-entry accounts in integer pence that never lose or invent a penny.

Concepts
    *Account* - four counters in pence (debits and credits, each pending and posted) and
    flags fixed at opening. Budgets and wallets may never have debits (pending + posted)
    above their posted credits. House accounts touched by every card payment (card
    clearing, refunds) do not keep counters on a row; their balance is summed from
    transfers, so no payment waits on a shared row.
    *Transfer* - one immutable movement of a positive amount from a debit account to a
    credit account on the same ledger (currency). Never edited or deleted: corrected by a
    reversal. Kinds: allocation, hold (pending, may expire), capture, release, expiry,
    excess (capture above the hold, flagged), refund, reversal.
    *Capture without a hold* - a capture the card network settled with no hold to take
    (forced, late, early): a hold made and resolved at once, from the wallet as far as it
    covers, the rest a flagged excess from the overspend receivable, like a capture above
    its hold. Never declined; no budget moves into the wallet.
    *Operation* - a request, keyed by the client's transfer id (the idempotency key). The
    same id and request answer the first outcome again, declines included, even after a
    top-up; the same id with a different request is an ``IdempotencyConflict``.
    *Period* - a calendar month; a closed one refuses transfers dated in it.

Invariants, held by the code and by the database (CHECKs, triggers, a unique index)
    Every transfer balances (one debit, one credit, same amount, amount > 0). A limited
    account never exceeds its limit, under any concurrency: the check and the update are one
    conditional statement. A hold resolves at most once. Captures never exceed the hold
    (the excess is separate and flagged); refunds and reversals never exceed the original.
    Transfers are never updated or deleted. ``verify`` checks all of it after the fact.

Concurrency on PostgreSQL
    A hold is one SQL function call that queues per wallet on an advisory lock; each process
    also lets only a couple of its holds on one wallet wait inside the database at once
    (``ledger.gates``), so a hot wallet does not collapse. Neither is needed for correctness.

Public API - every function takes the caller's connection or session first and keyword-only
arguments after it, runs inside the caller's transaction and never commits:
    ``open_account``, ``find_account``, ``allocate``, ``place_hold``, ``capture``,
    ``capture_without_hold``, ``release``, ``expire_due_holds``, ``refund``, ``refund_across``,
    ``reverse``, ``balance``, ``close_period``, ``is_closed``, ``verify``. Money-moving functions return an
    ``Outcome`` (accepted with its transfers, or declined with a code; ``replayed`` on a
    repeat); malformed requests raise a ``LedgerError`` subclass from ``ledger.errors``.
"""

from ledger.accounts import find_account, list_accounts, open_account
from ledger.balances import balance
from ledger.errors import (
    AccountCodeTaken,
    AccountNotFound,
    Decline,
    HoldAlreadyResolved,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidTransfer,
    LedgerError,
    OverspendAccountRequired,
    PeriodClosed,
    RefundExceedsCapture,
    ReversalExceedsOriginal,
    TransferNotFound,
)
from ledger.holds import capture, expire_due_holds, expiry_id, place_hold, release
from ledger.periods import close_period, is_closed
from ledger.transfers import allocate, refund, refund_across, reverse
from ledger.types import Account, Balance, Finding, Outcome, Transfer
from ledger.unheld import capture_without_hold
from ledger.verify import verify

__all__ = [
    "Account",
    "AccountCodeTaken",
    "AccountNotFound",
    "Balance",
    "Decline",
    "Finding",
    "HoldAlreadyResolved",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidTransfer",
    "LedgerError",
    "Outcome",
    "OverspendAccountRequired",
    "PeriodClosed",
    "RefundExceedsCapture",
    "ReversalExceedsOriginal",
    "Transfer",
    "TransferNotFound",
    "allocate",
    "balance",
    "capture",
    "capture_without_hold",
    "close_period",
    "expire_due_holds",
    "expiry_id",
    "find_account",
    "is_closed",
    "list_accounts",
    "open_account",
    "place_hold",
    "refund",
    "refund_across",
    "release",
    "reverse",
    "verify",
]
