"""A pure-Python reference ledger: the obviously-correct model the database is checked against.

It knows one team budget, one wallet, card clearing and the overspend receivable, in pence,
and answers each request the way the ledger must: the same decline codes, the same splits of
a capture above its hold, the same replays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Counters:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass
class Hold:
    amount: int
    expires_at: datetime
    resolved: bool = False


@dataclass
class ReferenceLedger:
    team: Counters = field(default_factory=Counters)
    wallet: Counters = field(default_factory=Counters)
    clearing: Counters = field(default_factory=Counters)
    receivable: Counters = field(default_factory=Counters)
    holds: dict[str, Hold] = field(default_factory=dict)
    #: capture-kind transfers (captures and excesses): amount, and whether the wallet or the receivable paid
    captured: dict[str, tuple[int, str]] = field(default_factory=dict)
    returned: dict[str, int] = field(default_factory=dict)
    #: every request by id: its fingerprint and the outcome it got (None = accepted)
    answers: dict[str, tuple[tuple[object, ...], str | None]] = field(default_factory=dict)

    def _answer(self, transfer_id: str, fingerprint: tuple[object, ...], outcome: str | None) -> str | None:
        self.answers[transfer_id] = (fingerprint, outcome)
        return outcome

    def allocate(self, transfer_id: str, amount: int) -> str | None:
        """Team budget → wallet."""
        if amount > self.team.available:
            return self._answer(transfer_id, ("allocate", amount), "insufficient_funds")
        self.team.debits_posted += amount
        self.wallet.credits_posted += amount
        return self._answer(transfer_id, ("allocate", amount), None)

    def hold(self, transfer_id: str, amount: int, expires_at: datetime) -> str | None:
        if amount > self.wallet.available:
            return self._answer(transfer_id, ("hold", amount), "insufficient_funds")
        self.wallet.debits_pending += amount
        self.clearing.credits_pending += amount
        self.holds[transfer_id] = Hold(amount, expires_at)
        return self._answer(transfer_id, ("hold", amount), None)

    def _void(self, hold: Hold) -> None:
        hold.resolved = True
        self.wallet.debits_pending -= hold.amount
        self.clearing.credits_pending -= hold.amount

    def capture(self, transfer_id: str, hold_id: str, amount: int) -> str | None:
        hold = self.holds[hold_id]
        fingerprint = ("capture", hold_id, amount)
        if hold.resolved:
            return self._answer(transfer_id, fingerprint, "hold_already_resolved")
        self._void(hold)
        taken = min(amount, hold.amount)
        self.wallet.debits_posted += taken
        self.clearing.credits_posted += taken
        self.captured[transfer_id] = (taken, "wallet")
        excess = amount - hold.amount
        if excess > 0:
            from_wallet = min(excess, max(self.wallet.available, 0))
            if from_wallet:
                self.wallet.debits_posted += from_wallet
                self.clearing.credits_posted += from_wallet
                self.captured[f"{transfer_id}:excess"] = (from_wallet, "wallet")
            rest = excess - from_wallet
            if rest:
                self.receivable.debits_posted += rest
                self.clearing.credits_posted += rest
                self.captured[f"{transfer_id}:overspend"] = (rest, "receivable")
        return self._answer(transfer_id, fingerprint, None)

    def release(self, transfer_id: str, hold_id: str) -> str | None:
        hold = self.holds[hold_id]
        if hold.resolved:
            return self._answer(transfer_id, ("release", hold_id), "hold_already_resolved")
        self._void(hold)
        return self._answer(transfer_id, ("release", hold_id), None)

    def expire(self, now: datetime) -> list[str]:
        due = [hold_id for hold_id, hold in self.holds.items() if not hold.resolved and hold.expires_at <= now]
        for hold_id in due:
            self._void(self.holds[hold_id])
        return sorted(due)

    def refund(self, transfer_id: str, capture_id: str, amount: int) -> str | None:
        paid, payer = self.captured[capture_id]
        fingerprint = ("refund", capture_id, amount)
        if amount > paid - self.returned.get(capture_id, 0):
            return self._answer(transfer_id, fingerprint, "refund_exceeds_capture")
        self.returned[capture_id] = self.returned.get(capture_id, 0) + amount
        self.clearing.debits_posted += amount
        (self.wallet if payer == "wallet" else self.receivable).credits_posted += amount
        return self._answer(transfer_id, fingerprint, None)
