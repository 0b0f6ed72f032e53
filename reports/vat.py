"""VAT on one movement of money, from the purchase's evidence: how much the council can
recover (section 33 VAT Act 1994) and how much is a cost.

- Outside the scope (gift cards, vouchers): no VAT at all.
- The VAT content is the purchase's recorded VAT, scaled to the movement, or computed from its
  rate (``20`` or ``5``; ``0`` and ``exempt`` carry none). Neither known: none is claimed.
- It is recoverable only with a VAT receipt actually attached, and above £250 only when the
  purchase was paid on a (full VAT) invoice: a till receipt is not enough there, and a card
  statement never is. Otherwise the VAT content is irrecoverable: part of the cost.

Finance may set a purchase category's treatment in the app (:mod:`reports.finance_settings`):
``outside_scope`` (no VAT at all), ``zero`` or ``exempt`` (no VAT content), ``standard`` or
``reduced`` (the purchase's own rate or amount, else 20% or 5%), and whether VAT on it is
recoverable at all (when not, its VAT content is always a cost). Unset, the purchase decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from reports.movements import Movement

#: The largest purchase a simplified (till) VAT receipt is evidence for, in pence.
SIMPLIFIED_INVOICE_LIMIT = 25_000
_RATES = {"20": 20, "5": 5, "0": 0, "exempt": 0}
#: A category's treatment (finance's setting) and the rate it implies when the purchase records none.
CATEGORY_TREATMENTS = {"standard": "20", "reduced": "5", "zero": "0", "exempt": "exempt", "outside_scope": None}

Treatment = Literal["recoverable", "irrecoverable", "no_vat", "outside_scope"]


@dataclass(frozen=True, slots=True)
class CategoryVat:
    """A purchase category's VAT treatment as finance set it (one of ``CATEGORY_TREATMENTS``),
    and whether the council may recover VAT on it at all."""

    treatment: str
    recoverable: bool = True


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
    category_treatment: str | None = None,
    recoverable: bool = True,
) -> VatSplit:
    """Recoverable and irrecoverable VAT of a movement of ``gross`` pence (negative for refunds)."""
    if vat_evidence == "outside_scope" or category_treatment == "outside_scope":
        return VatSplit(0, 0, "outside_scope")
    if category_treatment in {"zero", "exempt"}:
        return VatSplit(0, 0, "no_vat")
    if category_treatment is not None and vat_rate is None and vat_amount is None:
        vat_rate = CATEGORY_TREATMENTS.get(category_treatment)
    sign = -1 if gross < 0 else 1
    content = vat_content(gross=abs(gross), purchase_amount=purchase_amount, vat_rate=vat_rate, vat_amount=vat_amount)
    if not content:
        return VatSplit(0, 0, "no_vat")
    evidenced = recoverable and vat_evidence == "vat_receipt" and has_receipt
    if evidenced and (purchase_amount <= SIMPLIFIED_INVOICE_LIMIT or payment_method == "invoice"):
        return VatSplit(sign * content, 0, "recoverable")
    return VatSplit(0, sign * content, "irrecoverable")


def of_movement(m: Movement, treatments: Mapping[str, CategoryVat] | None = None) -> VatSplit:
    """A movement's VAT under its purchase's evidence and its category's treatment, if finance set one
    (the one rule the GL journal and the Transparency file share)."""
    chosen = (treatments or {}).get(m.category)
    return split(
        gross=m.amount,
        purchase_amount=m.purchase_amount,
        vat_evidence=m.vat_evidence,
        vat_rate=m.vat_rate,
        vat_amount=m.vat_amount,
        payment_method=m.payment_method,
        has_receipt=m.has_receipt,
        category_treatment=chosen.treatment if chosen else None,
        recoverable=chosen.recoverable if chosen else True,
    )
