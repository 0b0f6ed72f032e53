"""Devon County Council's published card spend (2014 to 2017), replayed as Tide purchases.

Each establishment becomes a team whose published department is the establishment's name,
with one key worker, one wallet and one family; each row is a card purchase captured on its
date (a negative row refunds an earlier purchase of that team from the same merchant, or, if
there is none, one made the day before the loaded range begins, outside every month checked).
Rows of £0.00 cannot be purchases (Tide refuses zero amounts) and are counted aside.
Contains public sector information licensed under the Open Government Licence v3.0.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.money import pence_from_pounds
from tests.reports.world import ALLOW_ALL, _person
from wallet import budgets, families, organisation, purchases
from wallet.access import Principal, load_principal
from wallet.clock import LONDON

DATA = Path(os.environ.get("TIDE_DEVON_DATA", Path(__file__).resolve().parents[1] / "data"))
FOLDER = DATA / "devon-card-spend-2014-2017"

#: Words in Devon's purpose or merchant category → Tide's purchase category (first match wins).
_CATEGORY_WORDS = (
    (("book", "periodical", "education", "school", "training"), "LEARN"),
    (("travel", "bus", "rail", "taxi", "fuel", "petrol", "parking", "transport"), "TRAVEL"),
    (("leisure", "amusement", "recreation", "sport", "tourist"), "ACTIVITY"),
    (("clothing", "shoe", "uniform"), "CLOTH"),
    (("grocery", "supermarket", "food"), "FOOD-VCH"),
    (("computer", "electronic", "telecom", "software"), "DIGITAL"),
    (("pharmac", "drug store", "medical", "dental", "health"), "HEALTH"),
    (("professional", "consultant", "services"), "SERVICE"),
)


@dataclass(frozen=True, slots=True)
class Row:
    day: date
    establishment: str
    merchant: str
    amount: int
    vat: int
    purpose: str
    merchant_category: str


def available() -> bool:
    return FOLDER.is_dir() and any(FOLDER.glob("*.csv"))


def _pence(text: str) -> int:
    """``"1,234.50"`` or ``"£-9.25"`` → pence, exactly (some files write thousands separators)."""
    return pence_from_pounds(text.replace(",", "").replace("£", "").strip() or "0")


def _day(text: str) -> date:
    d, m, y = (int(part) for part in text.strip().split("/"))
    return date(y, m, d)


def read_rows() -> list[Row]:
    """Every published row, in date order (some files start with a byte-order mark)."""
    rows = []
    for path in sorted(FOLDER.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.DictReader(handle):
                rows.append(
                    Row(
                        day=_day(record["Transaction Date"]),
                        establishment=" ".join(record["Local Authority Establishment"].split()),
                        merchant=" ".join(record["Benificiary (Merchant)"].split()),
                        amount=_pence(record["Amount"]),
                        vat=_pence(record.get("Unrecoverable VAT") or "0"),
                        purpose=record["Expenditure Purpose"],
                        merchant_category=record["Merchant Category"],
                    )
                )
    return sorted(rows, key=lambda r: r.day)


def rows_between(first: date, end: date) -> list[Row]:
    return [r for r in read_rows() if first <= r.day < end]


def category_of(row: Row) -> str:
    words = f"{row.purpose} {row.merchant_category}".lower()
    for keys, category in _CATEGORY_WORDS:
        if any(k in words for k in keys):
            return category
    return "HH-ESS"


@dataclass
class Loaded:
    purchases: int = 0
    refunds: int = 0
    zero_rows: int = 0
    made_before_range: int = 0


async def load(db: AsyncSession, rows: list[Row]) -> Loaded:
    """Replay ``rows`` (dated ones, in order) as Tide card purchases, captures and refunds."""
    loaded = Loaded()
    first_day = min(r.day for r in rows)
    before = first_day - timedelta(days=1)
    start = datetime.combine(before - timedelta(days=1), time(8), tzinfo=UTC)
    source = await budgets.create_funding_source(db, actor=None, code="devon", name="Devon card", now=start)
    finance = await load_principal(db, person_id=await _person(db, "Devon Finance", "finance", None, start))
    teams: dict[str, tuple[Principal, int, int]] = {}
    spend_by_team: dict[str, int] = defaultdict(int)
    for row in rows:
        spend_by_team[row.establishment] += abs(row.amount)
    await budgets.fund_pot(  # set-up, as the system: above the threshold a person would need a second
        db,
        actor=None,
        funding_source_id=source.id,
        transfer_id="devon:grant",
        amount=sum(spend * 2 + 100 for spend in spend_by_team.values()),
        reason="Devon",
        now=start,
    )
    for n, establishment in enumerate(sorted(spend_by_team), start=1):
        team = await organisation.create_team(
            db,
            actor=None,
            name=f"Devon {n:03d}",
            locality="Devon",
            cost_centre=f"DEVON-{n:03d}",
            department=establishment[:120],
            default_funding_source_id=source.id,
            now=start,
        )
        person_id = await _person(db, f"Devon Buyer {n:03d}", "key_worker", team.id, start)
        wallet = await budgets.open_wallet(db, actor=None, person_id=person_id, team_id=team.id, now=start)
        worker = await load_principal(db, person_id=person_id)
        amount = spend_by_team[establishment] * 2 + 100
        for level, wallet_id in (("team", None), ("wallet", wallet.id)):
            allocated = await budgets.allocate(
                db,
                actor=finance,
                transfer_id=f"devon:{level}:{n}",
                funding_source_id=source.id,
                team_id=team.id,
                wallet_id=wallet_id,
                amount=amount,
                month=before.replace(day=1),
                reason="Devon",
                now=start,
            )
            assert allocated.declined is None, (level, establishment, amount, allocated.declined)
        family = await families.open_family(
            db,
            who=worker,
            team_id=team.id,
            lead_worker_id=person_id,
            locality="Devon",
            age_bands=["5-10"],
            opened_on=before,
            now=start,
        )
        need_row = await families.add_need(
            db,
            who=worker,
            family_id=family.id,
            code="EDU-ATT",
            whose="child",
            identified_on=before,
            evidence_source="school",
            baseline_score=4,
            now=start,
        )
        teams[establishment] = (worker, family.id, need_row.id)

    refundable: dict[tuple[str, str], list[list[int]]] = defaultdict(list)

    async def buy(row: Row, amount: int, day: date) -> int:
        worker, family_id, need_id = teams[row.establishment]
        moment = datetime.combine(day, time(12), tzinfo=LONDON)
        ask = purchases.PurchaseAsk(
            family_id=family_id,
            need_ids=[need_id],
            category=category_of(row),
            description=row.purpose[:200],
            supplier=row.merchant[:120],
            amount=amount,
            payment_method="card",
            vat_evidence="no_vat_evidence" if row.vat else "outside_scope",
            vat_amount=row.vat if row.vat else None,
        )
        made = await purchases.make_purchase(db, who=worker, ask=ask, policy=ALLOW_ALL, now=moment)
        assert made.purchase.status == "held", (made.answer, made.ledger_decline, row)
        await purchases.capture_purchase(db, who=finance, purchase_id=made.purchase.id, amount=amount, now=moment)
        loaded.purchases += 1
        return made.purchase.id

    for n, row in enumerate(rows):
        if row.amount == 0:
            loaded.zero_rows += 1
            continue
        key = (row.establishment, row.merchant)
        if row.amount > 0:
            refundable[key].append([await buy(row, row.amount, row.day), row.amount])
            continue
        wanted = -row.amount
        original = next((entry for entry in refundable[key] if entry[1] >= wanted), None)
        if original is None:
            original = [await buy(row, wanted, before), wanted]
            loaded.made_before_range += 1
        await purchases.refund_purchase(
            db,
            who=finance,
            purchase_id=original[0],
            amount=wanted,
            refund_id=f"devon:refund:{n}",
            now=datetime.combine(row.day, time(15), tzinfo=LONDON),
        )
        original[1] -= wanted
        loaded.refunds += 1
    return loaded
