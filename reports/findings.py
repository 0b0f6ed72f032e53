"""What reconciliation finds, and the month's reconciliation as a whole.

A ``Finding`` is an *exception* (finance must explain it before the month closes) or a
*note* (worth knowing, nothing to explain). Its ``key`` names it stably (``check:subject``)
so an explanation recorded against it still applies when the reconciliation is run again.
``StripeAgreement`` is the month's headline: Tide's card purchases against Stripe's own
captured - refunded (less the funds Stripe reinstated for disputes won), which the finance
pack's cover states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ledger.money import pounds_display
from reports.period import Period

Severity = Literal["exception", "note"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing reconciliation found: ``amount`` in pence (0 when not about money)."""

    check: str
    subject: str
    detail: str
    amount: int = 0
    severity: Severity = "exception"

    @property
    def key(self) -> str:
        return f"{self.check}:{self.subject}"


@dataclass(frozen=True, slots=True)
class StripeAgreement:
    """Tide's card spend of the month against Stripe Issuing's captured - refunded, in pence.
    ``fetched`` is false when Stripe's statement of the month was not fetched (nothing to agree with).

    ``reinstated``: funds Stripe gave back this month for disputes won on its transactions. Stripe
    moves them on its balance, not as an Issuing transaction; Tide books them as a refund of the
    disputed purchase (its card spend is less by them), so Stripe's side is less by them too."""

    fetched: bool
    tide: int
    captured: int = 0
    refunded: int = 0
    reinstated: int = 0

    @property
    def stripe(self) -> int:
        return self.captured - self.refunded - self.reinstated

    @property
    def _stripes(self) -> str:
        won = " - reinstated for disputes won" if self.reinstated else ""
        return f"captured - refunded{won} {pounds_display(self.stripe)}"

    @property
    def difference(self) -> int:
        """Stripe's net less Tide's card spend: 0 when they agree to the penny."""
        return self.stripe - self.tide

    @property
    def agrees(self) -> bool:
        return self.fetched and self.difference == 0

    def sentence(self) -> str:
        """What the pack's cover says about it, in one sentence."""
        tide = pounds_display(self.tide)
        if not self.fetched:
            return (
                f"Card spend {tide} is not yet reconciled with Stripe Issuing: the month's statement has not "
                "been fetched from Stripe (wallet stripe statement)."
            )
        if self.agrees:
            return f"Card spend {tide} agrees with Stripe Issuing's {self._stripes} for the month, to the penny."
        return (
            f"Card spend {tide} differs from Stripe Issuing's {self._stripes} "
            f"by {pounds_display(self.difference)}: see the reconciliation's exceptions."
        )


@dataclass
class Reconciliation:
    """The month's reconciliation: totals in pence, findings, and explanations given so far."""

    period: Period
    totals: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)
    card_side_reconciled: bool = True
    stripe: StripeAgreement | None = None

    @property
    def exceptions(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "exception"]

    @property
    def unexplained(self) -> list[Finding]:
        return [f for f in self.exceptions if f.key not in self.explanations]

    @property
    def clean(self) -> bool:
        """No exceptions at all."""
        return not self.exceptions
