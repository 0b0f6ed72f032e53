"""Cardholders kept up to date at Stripe: when a key worker's work mobile changes (Stripe texts
the 3-D Secure codes to it) or the council's billing address in the settings does, the
cardholder at Stripe is given the new one.

Each cardholder row keeps what Stripe was last given: the phone number, and a digest of the
billing address (``billing_digest``; none: not known). ``due`` finds the cardholders whose
person's work mobile, or the configured address, differs from that, a few at a time. The
cardholders-follow-people job (``api.card_sync``) reads them in one transaction, calls Stripe
outside any transaction, and records each answer in a transaction of its own, so no row is
locked while Stripe is called. Safe to retry: the idempotency key names the cardholder, the
values wanted and the moment its row last changed, so a retried call is answered once by
Stripe, and a change back to an earlier number is a new call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.models import Cardholder
from wallet import audit
from wallet.models import Person

#: The fields of Stripe's ``address`` that Tide sets (the digest reads these and no others).
ADDRESS_FIELDS = ("line1", "city", "postal_code", "country")
#: Cardholders brought up to date in one run of the job (the rest wait for the next).
BATCH = 100


def billing_digest(address: Mapping[str, Any] | None) -> str | None:
    """A digest of the billing address Tide sets (as configured, or as Stripe answers it)."""
    if not address:
        return None
    fields = {name: str(address.get(name) or "") for name in ADDRESS_FIELDS}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Due:
    """A cardholder Stripe should be told about: what to send, and the key to send it with."""

    cardholder_id: int
    stripe_id: str
    person_id: int
    phone_number: str
    send_billing: bool
    idempotency_key: str


def _key(holder: Cardholder, phone_number: str, wanted_billing: str | None) -> str:
    wanted = hashlib.sha256(f"{phone_number}|{wanted_billing}".encode()).hexdigest()[:16]
    return f"cardholder-contact:{holder.id}:{holder.updated_at.isoformat()}:{wanted}"


async def due(db: AsyncSession, *, billing: Mapping[str, str] | None, limit: int = BATCH) -> Sequence[Due]:
    """Cardholders whose person's work mobile, or the configured billing address, is not what
    Stripe was last given (a person without a work mobile keeps what Stripe has)."""
    wanted_billing = billing_digest(billing)
    mobile_changed = and_(Person.work_mobile.is_not(None), Person.work_mobile.is_distinct_from(Cardholder.phone_number))
    billing_changed = Cardholder.billing_digest.is_distinct_from(wanted_billing) if wanted_billing else None
    query = (
        select(Cardholder, Person.work_mobile)
        .join(Person, Person.id == Cardholder.person_id)
        .where(or_(mobile_changed, billing_changed) if billing_changed is not None else mobile_changed)
        .order_by(Cardholder.id)
        .limit(limit)
    )
    found: list[Due] = []
    for holder, mobile in (await db.execute(query)).all():
        phone = mobile or holder.phone_number or ""
        if not phone:
            continue  # Stripe is never sent an empty number; the mobile comes first
        found.append(
            Due(
                cardholder_id=holder.id,
                stripe_id=holder.stripe_id,
                person_id=holder.person_id,
                phone_number=phone,
                send_billing=wanted_billing is not None and holder.billing_digest != wanted_billing,
                idempotency_key=_key(holder, phone, wanted_billing),
            )
        )
    return found


async def record_update(db: AsyncSession, *, due: Due, answer: Mapping[str, Any], now: datetime) -> Cardholder:
    """Record what Stripe now has for the cardholder (its answer to the update), audited."""
    holder = await db.get(Cardholder, due.cardholder_id)
    if holder is None:  # pragma: no cover - cardholders are never deleted
        raise LookupError(due.cardholder_id)
    holder.phone_number = str(answer.get("phone_number") or due.phone_number)
    billing = answer.get("billing")
    if due.send_billing and isinstance(billing, Mapping):
        holder.billing_digest = billing_digest(billing.get("address"))
    holder.updated_at = now
    await db.flush()
    await audit.record(
        db, actor=None, action="cardholder.updated_at_stripe", subject_type="person", subject_id=due.person_id,
        now=now, details={"phone_number": True, "billing_address": due.send_billing},
    )  # fmt: skip
    return holder


def as_created(created: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """What a new cardholder was given, from Stripe's answer: its phone number and billing digest."""
    billing = created.get("billing")
    address = billing.get("address") if isinstance(billing, Mapping) else None
    phone = created.get("phone_number")
    return (str(phone) if phone else None), billing_digest(address if isinstance(address, Mapping) else None)
