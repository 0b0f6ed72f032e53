"""VAT on one movement of money, from the purchase's evidence: how much the council can
recover (section 33 VAT Act 1994) and how much is a cost.

- Outside the scope (gift cards, vouchers): no VAT at all.
- The VAT content is the purchase's recorded VAT, scaled to the movement, or computed from its
  rate (``20`` or ``5``; ``0`` and ``exempt`` carry none). Neither known: none is claimed.
- It is recoverable only with a VAT receipt actually attached, and above £250 only when the
  purchase was paid on a (full VAT) invoice: a till receipt is not enough there, and a card
  statement never is. Otherwise the VAT content is irrecoverable: part of the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The largest purchase a simplified (till) VAT receipt is evidence for, in pence.
SIMPLIFIED_INVOICE_LIMIT = 25_000
_RATES = {"20": 20, "5": 5, "0": 0, "exempt": 0}

Treatment = Literal["recoverable", "irrecoverable", "no_vat", "outside_scope"]


@dataclass(frozen=True, slots=True)
class VatSplit:
    """A movement's VAT in pence, signed like the movement."""

    recoverable: int
    irrecoverable: int
    treatment: Treatment


def _divide_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def vat_content(*, gross: int, purchase_amount: int, vat_rate: str | None, vat_amount: int | None) -> int | None:
    """The VAT inside ``gross`` pence (not negative), or ``None`` when nothing says."""
    if vat_amount is not None and purchase_amount > 0:
        return _divide_half_up(vat_amount * gross, purchase_amount)
    if vat_rate in _RATES:
        rate = _RATES[vat_rate]
        return _divide_half_up(gross * rate, 100 + rate)
    return None


def split(
    *,
    gross: int,
    purchase_amount: int,
    vat_evidence: str,
    vat_rate: str | None,
    vat_amount: int | None,
    payment_method: str,
    has_receipt: bool,
) -> VatSplit:
    """Recoverable and irrecoverable VAT of a movement of ``gross`` pence (negative for refunds)."""
    if vat_evidence == "outside_scope":
        return VatSplit(0, 0, "outside_scope")
    sign = -1 if gross < 0 else 1
    content = vat_content(gross=abs(gross), purchase_amount=purchase_amount, vat_rate=vat_rate, vat_amount=vat_amount)
    if not content:
        return VatSplit(0, 0, "no_vat")
    evidenced = vat_evidence == "vat_receipt" and has_receipt
    if evidenced and (purchase_amount <= SIMPLIFIED_INVOICE_LIMIT or payment_method == "invoice"):
        return VatSplit(sign * content, 0, "recoverable")
    return VatSplit(0, sign * content, "irrecoverable")
