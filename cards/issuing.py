"""Cards: a key worker's Tide card, issued through Stripe Issuing, spending their wallet.

The card issuer is reached through ``CardIssuer`` (implemented in ``api.stripe_gateway``, the
only module that imports ``stripe``), so the domain never knows Stripe's client. Stripe's
spending controls are a coarse backstop only (GB merchants, gambling, cash and alcohol
blocked, a per-authorization ceiling); the real check is Tide's own, at authorization time.

Also here: which purchase category a merchant category is (``category_for``), and linking a
card purchase to the family and needs it was for once the key worker knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.errors import CardNotInState
from cards.models import Card, Cardholder
from wallet import audit
from wallet.access import Principal
from wallet.errors import (
    FamilyClosed,
    NeedNotOpen,
    NotAllowed,
    NotFound,
    NoWallet,
    PurchaseNotInState,
    UnknownCode,
)
from wallet.models import Family, FamilyWorker, Need, Person, Purchase, PurchaseNeed, Wallet
from wallet.policies import current_policy
from wallet.policy import Ask, Spend, evaluate
from wallet.purchases import committed

#: The largest single card payment Stripe itself lets through (the policy decides below it).
PER_AUTHORIZATION_CEILING = 25_000
#: Merchant categories Stripe refuses before asking Tide.
BLOCKED_CATEGORIES = (
    "automated_cash_disburse",
    "manual_cash_disburse",
    "betting_casino_gambling",
    "government_licensed_online_casions_online_gambling_us_region_only",
    "government_owned_lotteries_non_us_region",
    "government_owned_lotteries_us_region_only",
    "government_licensed_horse_dog_racing_us_region_only",
    "package_stores_beer_wine_and_liquor",
    "drinking_places",
    "wires_money_orders",
    "non_fi_money_orders",
    "non_fi_stored_value_card_purchase_load",
    "financial_institutions",
)

CardType = Literal["virtual", "physical"]
CardAction = Literal["freeze", "unfreeze", "cancel"]


class CardIssuer(Protocol):
    """What Tide asks of the card issuer. Every call that creates or changes something takes
    an idempotency key, so a retried request changes it once. Objects come back as plain dicts
    with Stripe's field names."""

    async def create_cardholder(
        self, *, name: str, email: str, phone_number: str | None, metadata: Mapping[str, str], idempotency_key: str
    ) -> dict[str, Any]: ...

    async def create_card(
        self,
        *,
        cardholder: str,
        card_type: CardType,
        status: str,
        spending_controls: Mapping[str, Any],
        metadata: Mapping[str, str],
        replacement_for: str | None,
        replacement_reason: str | None,
        idempotency_key: str,
    ) -> dict[str, Any]: ...

    async def update_card(
        self, *, card: str, status: str, cancellation_reason: str | None, idempotency_key: str
    ) -> dict[str, Any]: ...

    async def list_events(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]: ...

    async def list_transactions(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]: ...


def spending_controls() -> dict[str, Any]:
    """The coarse backstop set on every card."""
    return {
        "allowed_merchant_countries": ["GB"],
        "blocked_categories": list(BLOCKED_CATEGORIES),
        "spending_limits": [{"amount": PER_AUTHORIZATION_CEILING, "interval": "per_authorization"}],
    }


# Merchant categories ----------------------------------------------------------------------

_BY_SLUG: dict[str, str] = {}
for _code, _slugs in {
    "HH-ESS": (
        "furniture_home_furnishings_and_equipment_stores_except_appliances",
        "household_appliance_stores",
        "home_supply_warehouse_stores",
        "hardware_stores",
        "department_stores",
        "discount_stores",
        "variety_stores",
        "miscellaneous_home_furnishing_specialty_stores",
        "drapery_window_covering_and_upholstery_stores",
        "floor_covering_stores",
        "miscellaneous_general_merchandise",
        "lumber_building_materials_stores",
        "catalog_merchant",
        "direct_marketing_catalog_merchant",
        "miscellaneous_specialty_retail",
    ),
    "CLOTH": (
        "family_clothing_stores",
        "childrens_and_infants_wear_stores",
        "shoe_stores",
        "mens_and_boys_clothing_and_accessories_stores",
        "womens_ready_to_wear_stores",
        "mens_womens_clothing_stores",
        "miscellaneous_apparel_and_accessory_shops",
        "sports_apparel_riding_apparel_stores",
        "family_clothing",
    ),
    "FOOD-VCH": (
        "grocery_stores_supermarkets",
        "convenience_stores_and_specialty_markets",
        "bakeries",
        "candy_nut_and_confectionery_stores",
        "dairy_products_stores",
        "miscellaneous_food_stores",
        "eating_places_restaurants",
        "fast_food_restaurants",
        "caterers",
        "freezer_and_locker_meat_provisioners",
    ),
    "TRAVEL": (
        "bus_lines",
        "commuter_transport_and_ferries",
        "passenger_railways",
        "taxicabs_limousines",
        "service_stations",
        "automated_fuel_dispensers",
        "transportation_services",
        "parking_lots_garages",
        "tolls_and_bridge_fees",
    ),
    "ACTIVITY": (
        "recreation_services",
        "amusement_parks_carnivals",
        "aquariums",
        "sporting_recreation_camps",
        "tourist_attractions_and_exhibits",
        "motion_picture_theaters",
        "theatrical_ticket_agencies",
        "bowling_alleys",
        "dance_hall_studios_schools",
        "sporting_goods_stores",
        "hobby_toy_and_game_shops",
        "membership_clubs_sports_recreation_athletic",
    ),
    "LEARN": (
        "book_stores",
        "books_periodicals_and_newspapers",
        "educational_services",
        "schools_and_educational_services",
        "elementary_secondary_schools",
        "colleges_universities",
        "stationery_stores_office_school_supply_stores",
        "stationary_office_supplies_printing_and_writing_paper",
        "child_care_services",
        "art_and_craft_supply_stores",
        "music_stores_musical_instruments_pianos_and_sheet_music",
    ),
    "SEND-EQ": ("orthopedic_goods_prosthetic_devices", "hearing_aids_sales_and_supplies"),
    "SAFETY": ("electrical_parts_and_equipment",),
    "HOUSING": (
        "real_estate_agents_and_managers_rentals",
        "motor_freight_carriers_and_trucking",
        "public_warehousing_and_storage",
        "utilities",
        "truck_utility_trailer_rentals",
        "hotels_motels_and_resorts",
    ),
    "DIGITAL": (
        "electronics_stores",
        "computer_software_stores",
        "computers_peripherals_and_software",
        "telecommunication_services",
        "telecommunication_equipment_and_telephone_sales",
        "camera_and_photographic_supply_stores",
    ),
    "HEALTH": (
        "drug_stores_and_pharmacies",
        "dentists_orthodontists",
        "doctors",
        "medical_services",
        "opticians_eyeglasses",
        "optometrists_ophthalmologist",
        "chiropodists_podiatrists",
        "hospitals",
    ),
    "CASH": (
        "automated_cash_disburse",
        "manual_cash_disburse",
        "financial_institutions",
        "wires_money_orders",
        "non_fi_money_orders",
        "non_fi_stored_value_card_purchase_load",
    ),
    "GAMBLING": (
        "betting_casino_gambling",
        "government_licensed_online_casions_online_gambling_us_region_only",
        "government_owned_lotteries_non_us_region",
        "government_owned_lotteries_us_region_only",
        "government_licensed_horse_dog_racing_us_region_only",
    ),
    "ALCOHOL": ("package_stores_beer_wine_and_liquor", "drinking_places"),
}.items():
    for _slug in _slugs:
        _BY_SLUG[_slug] = _code

#: Merchant category code ranges, for slugs the table above does not name.
_BY_CODE_RANGE: tuple[tuple[int, int, str], ...] = (
    (4000, 4799, "TRAVEL"),
    (4812, 4816, "DIGITAL"),
    (5200, 5399, "HH-ESS"),
    (5411, 5499, "FOOD-VCH"),
    (5541, 5542, "TRAVEL"),
    (5600, 5699, "CLOTH"),
    (5700, 5722, "HH-ESS"),
    (5732, 5735, "DIGITAL"),
    (5811, 5814, "FOOD-VCH"),
    (5912, 5912, "HEALTH"),
    (5921, 5921, "ALCOHOL"),
    (5940, 5949, "ACTIVITY"),
    (6010, 6012, "CASH"),
    (7800, 7999, "ACTIVITY"),
    (8000, 8099, "HEALTH"),
    (8200, 8299, "LEARN"),
    (8351, 8351, "LEARN"),
)


def category_for(slug: str | None, code: str | None) -> str | None:
    """The purchase category of a merchant category (Stripe's slug, else its MCC), or ``None``
    when Tide has no purchase category for it (the authorization is declined)."""
    if slug and slug in _BY_SLUG:
        return _BY_SLUG[slug]
    if code and code.isdigit():
        number = int(code)
        for low, high, category in _BY_CODE_RANGE:
            if low <= number <= high:
                return category
    return None


# Card lifecycle --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardView:
    card: Card
    person_id: int
    team_id: int


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


async def _cardholder(db: AsyncSession, issuer: CardIssuer, *, wallet: Wallet, key: str, now: datetime) -> Cardholder:
    found = (await db.execute(select(Cardholder).where(Cardholder.person_id == wallet.person_id))).scalar_one_or_none()
    if found is not None:
        return found
    person = await db.get(Person, wallet.person_id)
    if person is None:  # pragma: no cover - the foreign key guarantees it
        raise NotFound("no such person")
    created = await issuer.create_cardholder(
        name=person.display_name,
        email=person.email,
        phone_number=None,
        metadata={"tide_person_id": str(person.id)},
        idempotency_key=f"{key}:cardholder",
    )
    holder = Cardholder(
        stripe_id=str(created["id"]), person_id=person.id, status=str(created["status"]), created_at=now, updated_at=now
    )
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
    """A new card on the wallet (active, unless the wallet is suspended).

    ``key`` makes the issuer's side idempotent: the same key (a retried request) gets the
    same cardholder and card back from Stripe, never a second card."""
    wallet = await _wallet_for_management(db, who=who, wallet_id=wallet_id)
    if card_type not in ("virtual", "physical"):
        raise UnknownCode(f"unknown card type {card_type!r}")
    holder = await _cardholder(db, issuer, wallet=wallet, key=key, now=now)
    status = "active" if wallet.status == "active" else "inactive"
    created = await issuer.create_card(
        cardholder=holder.stripe_id,
        card_type=card_type,
        status=status,
        spending_controls=spending_controls(),
        metadata={"tide_wallet_id": str(wallet.id)},
        replacement_for=replacing.stripe_id if replacing else None,
        replacement_reason=replacement_reason,
        idempotency_key=f"{key}:card",
    )
    card = Card(
        stripe_id=str(created["id"]),
        cardholder_id=holder.id,
        wallet_id=wallet.id,
        status=str(created["status"]),
        frozen_reason=None if status == "active" else "wallet_suspended",
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


async def get_card(db: AsyncSession, *, who: Principal, card_id: int, for_update: bool = False) -> tuple[Card, Wallet]:
    statement = select(Card, Wallet).join(Wallet, Wallet.id == Card.wallet_id).where(Card.id == card_id)
    if for_update:
        statement = statement.with_for_update(of=Card)
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
    """Freeze (inactive), unfreeze (active again) or cancel (for good) a card."""
    card, wallet = await get_card(db, who=who, card_id=card_id, for_update=True)
    if not _may_manage(who, wallet):
        raise NotAllowed("the key worker, their manager or an admin manages cards")
    if card.status == "canceled":
        raise CardNotInState("the card is cancelled")
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
    card, wallet = await get_card(db, who=who, card_id=card_id, for_update=True)
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
    changed. (Authorizations on a suspended wallet are declined whatever Stripe thinks.)"""
    wallet = await db.get(Wallet, wallet_id)
    if wallet is None:
        raise NotFound(f"no wallet {wallet_id}")
    cards = (await db.execute(select(Card).where(Card.wallet_id == wallet_id).with_for_update())).scalars().all()
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


# Linking a card purchase to its family ----------------------------------------------------


async def link_card_purchase(
    db: AsyncSession, *, who: Principal, purchase_id: int, family_id: int, need_ids: Sequence[int], now: datetime
) -> Purchase:
    """The key worker says which family and needs a card purchase was for."""
    purchase = (
        await db.execute(select(Purchase).where(Purchase.id == purchase_id).with_for_update())
    ).scalar_one_or_none()
    if purchase is None or not (
        purchase.worker_id == who.person_id or who.sees_all_money or purchase.team_id in who.managed_team_ids
    ):
        raise NotFound(f"no purchase {purchase_id}")
    if purchase.worker_id != who.person_id:
        raise NotAllowed("only the key worker who paid links a card purchase")
    if who.wallet_id is None:
        raise NoWallet("only a key worker with a wallet links card purchases")
    if purchase.payment_method != "card" or purchase.family_id is not None:
        raise PurchaseNotInState("only a card purchase still waiting for its family is linked")
    if await db.get(FamilyWorker, (family_id, who.person_id)) is None:
        raise NotFound(f"no family {family_id}")
    family_needs = (await db.execute(select(Need).where(Need.id.in_(list(need_ids))))).scalars().all()
    if not need_ids or len(family_needs) != len(set(need_ids)):
        raise NeedNotOpen("a purchase answers at least one of the family's open needs")
    if any(n.family_id != family_id or n.status != "open" for n in family_needs):
        raise NeedNotOpen("every need must be one of this family's open needs")
    family = (await db.execute(select(Family).where(Family.id == family_id).with_for_update())).scalar_one_or_none()
    if family is None or family.status != "open":
        raise FamilyClosed("the case is closed; it takes no new purchases")
    broken = await _family_caps_broken(db, purchase=purchase, family_id=family_id, now=now)
    if broken:  # the money is spent already: the purchase is flagged for its manager, not refused
        purchase.policy_reasons = [*purchase.policy_reasons, *broken]
    purchase.family_id, purchase.updated_at = family_id, now
    for need in family_needs:
        db.add(PurchaseNeed(purchase_id=purchase.id, need_id=need.id))
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="purchase.linked",
        subject_type="purchase",
        subject_id=purchase.id,
        now=now,
        details={"family_id": family_id, "need_ids": sorted(need_ids), "flagged": broken},
    )
    return purchase


async def _family_caps_broken(db: AsyncSession, *, purchase: Purchase, family_id: int, now: datetime) -> list[str]:
    """The family's caps this card purchase passes, now that the family is known (at the till
    it was not): ``case_cap_when_linked``, ``family_period_cap_when_linked``."""
    _, policy = await current_policy(db)

    async def spent(*where: ColumnElement[bool]) -> int:
        total = await db.execute(
            select(func.coalesce(func.sum(committed()), 0)).where(Purchase.family_id == family_id, *where)
        )
        return int(total.scalar_one())

    async def family_in_days(days: int) -> int:
        return await spent(Purchase.created_at >= now - timedelta(days=days))

    async def case() -> int:
        return await spent()

    async def wallet_in_days(_days: int) -> int:
        return 0  # the wallet's own limits were asked at the till

    amount = purchase.amount if purchase.status == "held" else purchase.captured_amount - purchase.refunded_amount
    if amount <= 0:
        return []
    answer = await evaluate(
        policy,
        Ask(amount=amount, category=purchase.category, worker_id=purchase.worker_id, team_id=purchase.team_id),
        Spend(family_in_days=family_in_days, case=case, wallet_in_days=wallet_in_days),
    )
    return [f"{r.code}_when_linked" for r in answer.reasons if r.code in ("case_cap", "family_period_cap")]


async def wallets_out_of_step(db: AsyncSession) -> list[int]:
    """Wallets with a card that does not follow the wallet's status (active on a suspended
    wallet, or still frozen for a suspension the manager has cleared)."""
    rows = await db.execute(
        select(Card.wallet_id)
        .join(Wallet, Wallet.id == Card.wallet_id)
        .where(
            ((Wallet.status != "active") & (Card.status == "active"))
            | ((Wallet.status == "active") & (Card.status == "inactive") & (Card.frozen_reason == "wallet_suspended"))
        )
        .distinct()
    )
    return sorted(int(row[0]) for row in rows)
