"""Issuing cards: a key worker's cardholder and cards, freezing, cancelling and replacing them,
and keeping them in step with their wallet (a suspended wallet's cards go inactive).

Every change is made at the issuer first (``cards.issuer.CardIssuer``, with an idempotency
key, so a retried request changes it once) and then recorded, with an audit entry. The key
worker, their team's manager or an admin manages a wallet's cards; whoever sees the money
sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.cardholders import as_created
from cards.errors import CardNotInState, NoShippingAddress, NoWorkMobile
from cards.issuer import CardIssuer, CardType, shipping_to, spending_controls
from cards.models import Card, Cardholder, CardToFollow
from wallet import audit
from wallet.access import Principal
from wallet.errors import NotAllowed, NotFound, UnknownCode
from wallet.models import Person, Team, Wallet

CardAction = Literal["freeze", "unfreeze", "cancel"]
#: Why a physical card is inactive until its holder says it has arrived.
NOT_ACTIVATED = "not_activated"


def _shipment(card: dict[str, object]) -> dict[str, str]:
    shipping = card.get("shipping")
    return {k: str(v) for k, v in shipping.items() if isinstance(v, str)} if isinstance(shipping, dict) else {}


def _may_manage(who: Principal, wallet: Wallet) -> bool:
    return wallet.id == who.wallet_id or wallet.team_id in who.managed_team_ids or who.has("admin")


def _sees(who: Principal, wallet: Wallet) -> bool:
    return _may_manage(who, wallet) or who.sees_all_money


async def _wallet_for_management(db: AsyncSession, *, who: Principal, wallet_id: int) -> Wallet:
    wallet = await db.get(Wallet, wallet_id)
    if wallet is None or not _sees(who, wallet):
        raise NotFound(f"no wallet {wallet_id}")
    if not _may_manage(who, wallet):
        raise NotAllowed("the key worker, their manager or an admin manages cards")
    return wallet


async def _holder_of(db: AsyncSession, wallet: Wallet) -> Person:
    """The wallet's key worker, who must have a work mobile for a card (3-D Secure codes)."""
    person = await db.get(Person, wallet.person_id)
    if person is None:  # pragma: no cover - the foreign key guarantees it
        raise NotFound("no such person")
    if not person.work_mobile:
        raise NoWorkMobile("record the key worker's work mobile first: Stripe texts it the codes for online payments")
    return person


async def _shipping(db: AsyncSession, *, wallet: Wallet, person: Person) -> dict[str, object]:
    """A physical card goes to the team's office; without its address none is requested."""
    team = await db.get(Team, wallet.team_id)
    if team is None or not (team.office_line1 and team.office_city and team.office_postal_code):
        raise NoShippingAddress(
            "a physical card is posted to the team's office, and this team has no office address yet: "
            "an admin adds it to the team first"
        )
    return shipping_to(
        name=person.display_name,
        line1=team.office_line1,
        line2=team.office_line2,
        city=team.office_city,
        postal_code=team.office_postal_code,
    )


def _starting_state(wallet: Wallet, card_type: CardType) -> tuple[str, str | None]:
    """A new card's status, and why it is inactive: a physical card waits for its holder to
    activate it; a virtual one works at once, unless the wallet is suspended."""
    if card_type == "physical":
        return "inactive", NOT_ACTIVATED
    return ("active", None) if wallet.status == "active" else ("inactive", "wallet_suspended")


async def _cardholder(db: AsyncSession, issuer: CardIssuer, *, person: Person, key: str, now: datetime) -> Cardholder:
    found = (await db.execute(select(Cardholder).where(Cardholder.person_id == person.id))).scalar_one_or_none()
    if found is not None:
        return found
    created = await issuer.create_cardholder(
        name=person.display_name,
        email=person.email,
        phone_number=person.work_mobile,
        metadata={"tide_person_id": str(person.id)},
        idempotency_key=f"{key}:cardholder",
    )
    phone_number, billing = as_created(created)
    holder = Cardholder(
        stripe_id=str(created["id"]), person_id=person.id, status=str(created["status"]), created_at=now,
        updated_at=now, phone_number=phone_number, billing_digest=billing,
    )  # fmt: skip
    db.add(holder)
    await db.flush()
    return holder


async def issue_card(
    db: AsyncSession,
    issuer: CardIssuer,
    *,
    who: Principal,
    wallet_id: int,
    card_type: CardType,
    key: str,
    now: datetime,
    replacing: Card | None = None,
    replacement_reason: str | None = None,
) -> Card:
    """A new card on the wallet (``_starting_state`` says how it starts). The key worker needs
    a work mobile, and a physical card an office address. ``key`` makes the issuer's side
    idempotent: a retried request gets the same cardholder and card back, never a second."""
    wallet = await _wallet_for_management(db, who=who, wallet_id=wallet_id)
    if card_type not in ("virtual", "physical"):
        raise UnknownCode(f"unknown card type {card_type!r}")
    person = await _holder_of(db, wallet)
    shipping = await _shipping(db, wallet=wallet, person=person) if card_type == "physical" else None
    holder = await _cardholder(db, issuer, person=person, key=key, now=now)
    status, frozen_reason = _starting_state(wallet, card_type)
    created = await issuer.create_card(
        cardholder=holder.stripe_id,
        card_type=card_type,
        status=status,
        spending_controls=spending_controls(),
        metadata={"tide_wallet_id": str(wallet.id)},
        replacement_for=replacing.stripe_id if replacing else None,
        replacement_reason=replacement_reason,
        idempotency_key=f"{key}:card",
        shipping=shipping,
    )
    card = Card(
        stripe_id=str(created["id"]),
        cardholder_id=holder.id,
        wallet_id=wallet.id,
        status=str(created["status"]),
        frozen_reason=frozen_reason,
        shipping_status=_shipment(created).get("status"),
        last4=str(created.get("last4") or "0000"),
        type=card_type,
        replacement_for_id=replacing.id if replacing else None,
        created_at=now,
        updated_at=now,
    )
    db.add(card)
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="card.issued",
        subject_type="card",
        subject_id=card.id,
        now=now,
        details={"type": card_type},
    )
    return card


async def get_card(db: AsyncSession, *, who: Principal, card_id: int) -> tuple[Card, Wallet]:
    statement = select(Card, Wallet).join(Wallet, Wallet.id == Card.wallet_id).where(Card.id == card_id)
    row = (await db.execute(statement)).first()
    if row is None or not _sees(who, row[1]):
        raise NotFound(f"no card {card_id}")
    return row[0], row[1]


async def list_cards(db: AsyncSession, *, who: Principal) -> Sequence[Card]:
    rows = await db.execute(select(Card, Wallet).join(Wallet, Wallet.id == Card.wallet_id).order_by(Card.id.desc()))
    return [card for card, wallet in rows if _sees(who, wallet)]


async def change_card(
    db: AsyncSession,
    issuer: CardIssuer,
    *,
    who: Principal,
    card_id: int,
    action: CardAction,
    key: str,
    now: datetime,
) -> Card:
    """Freeze (inactive), unfreeze (active again) or cancel (for good) a card.

    No row lock is held while Stripe is called (a slow Stripe must not hold up the till on
    this card): the card is read, Stripe changed with an idempotency key, and Stripe's answer
    written back. Stripe's status is the one recorded, so two changes racing end as Stripe
    has the card, and its ``issuing_card.updated`` event confirms it."""
    card, wallet = await get_card(db, who=who, card_id=card_id)
    if not _may_manage(who, wallet):
        raise NotAllowed("the key worker, their manager or an admin manages cards")
    if card.status == "canceled":
        raise CardNotInState("the card is cancelled")
    if action == "unfreeze" and card.frozen_reason == NOT_ACTIVATED:
        raise CardNotInState("the card has not arrived yet: its holder activates it when it does")
    if action == "unfreeze" and wallet.status != "active":
        raise CardNotInState("the wallet is suspended: its cards stay frozen until a manager clears it")
    target, reason = {"freeze": ("inactive", "frozen"), "unfreeze": ("active", None), "cancel": ("canceled", None)}[
        action
    ]
    if card.status == target:
        raise CardNotInState(f"the card is already {target}")
    updated = await issuer.update_card(
        card=card.stripe_id,
        status=target,
        cancellation_reason="lost" if action == "cancel" else None,
        idempotency_key=f"{key}:{action}",
    )
    card.status, card.frozen_reason, card.updated_at = str(updated["status"]), reason, now
    await db.flush()
    await audit.record(db, actor=who, action=f"card.{action}", subject_type="card", subject_id=card.id, now=now)
    return card


async def replace_card(
    db: AsyncSession, issuer: CardIssuer, *, who: Principal, card_id: int, reason: str, key: str, now: datetime
) -> Card:
    """Cancel a lost, stolen or damaged card and issue its replacement on the same wallet."""
    if reason not in ("lost", "stolen", "damaged", "expired"):
        raise UnknownCode(f"unknown replacement reason {reason!r}")
    card, wallet = await get_card(db, who=who, card_id=card_id)
    if card.status != "canceled":
        card = await change_card(db, issuer, who=who, card_id=card_id, action="cancel", key=key, now=now)
    return await issue_card(
        db,
        issuer,
        who=who,
        wallet_id=wallet.id,
        card_type="virtual" if card.type == "virtual" else "physical",
        key=f"{key}:replacement",
        now=now,
        replacing=card,
        replacement_reason=reason,
    )


async def follow_wallet_status(db: AsyncSession, issuer: CardIssuer, *, wallet_id: int, now: datetime) -> list[Card]:
    """Make the wallet's cards follow it: a suspended wallet's active cards go inactive; when it
    is active again, the cards that were frozen for the suspension come back. Returns those
    changed. (Authorizations on a suspended wallet are declined whatever Stripe thinks.) As in
    ``change_card``, no row is locked while Stripe is called."""
    wallet = await db.get(Wallet, wallet_id)
    if wallet is None:
        raise NotFound(f"no wallet {wallet_id}")
    cards = (await db.execute(select(Card).where(Card.wallet_id == wallet_id))).scalars().all()
    changed = []
    for card in cards:
        if wallet.status != "active" and card.status == "active":
            target, reason = "inactive", "wallet_suspended"
        elif wallet.status == "active" and card.status == "inactive" and card.frozen_reason == "wallet_suspended":
            target, reason = "active", None
        else:
            continue
        updated = await issuer.update_card(
            card=card.stripe_id,
            status=target,
            cancellation_reason=None,
            idempotency_key=f"tide-wallet-{wallet_id}-card-{card.id}-{target}-{now.isoformat()}",
        )
        card.status, card.frozen_reason, card.updated_at = str(updated["status"]), reason, now
        changed.append(card)
        await audit.record(
            db,
            actor=None,
            action=f"card.{'frozen' if target == 'inactive' else 'unfrozen'}_with_wallet",
            subject_type="card",
            subject_id=card.id,
            now=now,
        )
    await db.flush()
    return changed


def wallets_to_follow_query() -> Select[int, int]:
    """The wallets noted since the job last ran (``cards_to_follow``, kept by triggers), each
    with the last note read: never every card."""
    return (
        select(CardToFollow.wallet_id, func.max(CardToFollow.id))
        .group_by(CardToFollow.wallet_id)
        .order_by(CardToFollow.wallet_id)
    )


async def wallets_to_follow(db: AsyncSession) -> dict[int, int]:
    """The wallets whose cards may no longer follow them, each with its last note read."""
    return {int(row[0]): int(row[1]) for row in await db.execute(wallets_to_follow_query())}


async def followed(db: AsyncSession, *, wallet_id: int, up_to: int) -> None:
    """The wallet's notes up to ``up_to`` are done (a later one, made meanwhile, stays)."""
    await db.execute(delete(CardToFollow).where(CardToFollow.wallet_id == wallet_id, CardToFollow.id <= up_to))


async def cards_not_cancelled(db: AsyncSession) -> int:
    """How many cards Stripe may still let spend: every card not cancelled (start-up refuses to
    run without Stripe's secrets while there are any)."""
    found = await db.execute(select(func.count()).select_from(Card).where(Card.status != "canceled"))
    return int(found.scalar_one())
