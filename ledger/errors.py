"""One error class per broken ledger rule.

``Decline`` subclasses are outcomes the ledger records against the transfer id: replaying
the id answers the same decline, even after a top-up. The other errors refuse the request
outright and record nothing (the caller's transaction rolls back).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger error."""

    code = "ledger_error"


class Decline(LedgerError):
    """A well-formed request the ledger refused; recorded and replayed as refused."""


class InsufficientFunds(Decline):
    """Debits on an account whose debits must not exceed its credits would exceed them."""

    code = "insufficient_funds"


class HoldAlreadyResolved(Decline):
    """A hold is captured, released or expired at most once."""

    code = "hold_already_resolved"


class RefundExceedsCapture(Decline):
    """Refunds of a capture never add up to more than was captured."""

    code = "refund_exceeds_capture"


class ReversalExceedsOriginal(Decline):
    """Reversals of a transfer never add up to more than the transfer."""

    code = "reversal_exceeds_original"


DECLINES: dict[str, type[Decline]] = {
    cls.code: cls for cls in (InsufficientFunds, HoldAlreadyResolved, RefundExceedsCapture, ReversalExceedsOriginal)
}


class IdempotencyConflict(LedgerError):
    """A transfer id is reused for a different request."""

    code = "idempotency_conflict"


class AccountNotFound(LedgerError):
    """A transfer names an account that does not exist."""

    code = "account_not_found"


class TransferNotFound(LedgerError):
    """A transfer refers to a hold or transfer that does not exist (or is of the wrong kind)."""

    code = "transfer_not_found"


class InvalidTransfer(LedgerError):
    """A transfer is malformed: amount not a positive whole number of pence, one account on
    both sides, accounts on different ledgers, an id that is empty or too long."""

    code = "invalid_transfer"


class PeriodClosed(LedgerError):
    """A closed accounting period refuses new transfers dated in it."""

    code = "period_closed"


class OverspendAccountRequired(LedgerError):
    """A capture above its hold that the wallet cannot cover needs an overspend receivable."""

    code = "overspend_account_required"


class AccountCodeTaken(LedgerError):
    """Account codes are unique."""

    code = "account_code_taken"
