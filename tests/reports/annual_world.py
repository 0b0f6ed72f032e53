"""Several years of a county's early help, for the annual evidence report's tests and benchmark.

Made from a fixed seed: six localities (one team each, the last one small so its figures are
suppressed), two funding sources, families opened from April 2023 to March 2026 with needs
drawn from the domain taxonomy (parents' domestic abuse, substance misuse and mental health
among them), reviews every 6 to 12 weeks, cases of 6 to 9 months, a six-month check after
every closure (most recorded as sustained, not sustained or not reached), some families coming
back under the same case-system record, and purchases whose amounts, merchants and categories
are Devon County Council's real card spend (``tests/data``), about 3% of them partly refunded
and some never captured.

The rows are kept as plain Python objects, so the tests can add them up independently of
the report's SQL; :func:`load` inserts them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tests.reports import devon
from tests.reports.world import _person
from wallet import budgets, organisation
from wallet.access import load_principal
from wallet.clock import LONDON
from wallet.families import SUSTAIN_CHECK_AFTER
from wallet.models import Family, FamilyCaseLink, Need, NeedReview, Purchase, PurchaseNeed
from wallet.sustain_check_models import SustainCheck
from wallet.taxonomy import NEEDS

LOCALITIES = ("Exeter", "Torridge", "Mid Devon", "South Hams", "Teignbridge", "Lundy")
#: Families opened a year, per locality: Lundy is small, so its cells are suppressed.
FAMILIES_A_YEAR = (30, 24, 18, 14, 10, 3)
TODAY = date(2026, 9, 30)
DRIVERS = ("DA", "SUB", "HLT-MH")
CATEGORIES = ("HH-ESS", "CLOTH", "FOOD-VCH", "TRAVEL", "ACTIVITY", "LEARN", "DIGITAL", "SAFETY", "HOUSING")


def noon(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=LONDON).astimezone(UTC)


@dataclass
class GFamily:
    id: int
    team: int  # index into LOCALITIES
    opened_on: date
    closed_on: date | None
    sustain_check_on: date | None
    case_id: str


@dataclass
class GNeed:
    id: int
    family_id: int
    code: str
    whose: str
    identified_on: date


@dataclass
class GReview:
    id: int
    need_id: int
    outcome: str
    reviewed_on: date


@dataclass
class GCheck:
    """A closed case's six-month check: due six months on; recorded (or not yet) on a day."""

    id: int
    family_id: int
    team: int
    closed_on: date
    due_on: date
    result: str | None
    checked_on: date | None


@dataclass
class GPurchase:
    id: int
    family_id: int
    team: int
    funding: int  # 0 or 1
    category: str
    amount: int
    captured: int
    refunded: int
    day: date
    need_ids: list[int]


@dataclass
class County:
    families: list[GFamily] = field(default_factory=list)
    needs: list[GNeed] = field(default_factory=list)
    reviews: list[GReview] = field(default_factory=list)
    purchases: list[GPurchase] = field(default_factory=list)
    checks: list[GCheck] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)
    team_names: list[str] = field(default_factory=list)
    funding_names: tuple[str, str] = ("Prevention Grant", "Families First Partnership")


def _amounts() -> list[tuple[int, str]]:
    rows = [r for r in devon.read_rows() if 0 < r.amount <= 59_900] if devon.available() else []
    found = [(r.amount, devon.category_of(r)) for r in rows]
    return found or [(a, c) for a, c in zip((1300, 3000, 6200, 16000, 23200), CATEGORIES, strict=False)]


def generate(
    seed: int = 19, *, scale: int = 1, purchases_per_family: int = 4, years: tuple[int, ...] = (2023, 2024, 2025)
) -> County:
    rng = random.Random(seed)
    amounts = _amounts()
    county = County()
    codes = list(NEEDS)
    ids = {"family": 0, "need": 0, "review": 0, "purchase": 0}

    def next_id(kind: str) -> int:
        ids[kind] += 1
        return ids[kind]

    closed_cases: list[str] = []
    for start in years:
        for team, per_year in enumerate(FAMILIES_A_YEAR):
            for _ in range(per_year * scale):
                opened = date(start, 4, 1) + timedelta(days=rng.randrange(365))
                ends = opened + timedelta(days=rng.randrange(180, 275))
                closed = ends if ends <= TODAY else None
                check = closed + SUSTAIN_CHECK_AFTER if closed and rng.random() < 0.8 else None
                case = rng.choice(closed_cases) if closed_cases and rng.random() < 0.1 else f"C{len(county.families)}"
                family = GFamily(next_id("family"), team, opened, closed, check, case)
                county.families.append(family)
                if closed:
                    closed_cases.append(case)
                own: list[GNeed] = []
                for _ in range(rng.randint(1, 3)):
                    code = rng.choice(DRIVERS) if rng.random() < 0.35 else rng.choice(codes)
                    whose = "parent" if code in DRIVERS and rng.random() < 0.8 else rng.choice(("child", "household"))
                    need = GNeed(next_id("need"), family.id, code, whose, opened + timedelta(days=rng.randrange(21)))
                    own.append(need)
                    county.needs.append(need)
                    last = closed or TODAY
                    day = need.identified_on + timedelta(days=rng.randrange(42, 85))
                    while day <= last:
                        outcome = rng.choice(("improved", "improved", "no_change", "worse"))
                        county.reviews.append(GReview(next_id("review"), need.id, outcome, day))
                        day += timedelta(days=rng.randrange(42, 85))
                    if check and check <= TODAY and rng.random() < 0.85:
                        outcome = rng.choice(("improved", "no_change", "no_change", "worse"))
                        later = check + timedelta(days=rng.randrange(10))
                        county.reviews.append(GReview(next_id("review"), need.id, outcome, later))
                for _ in range(rng.randrange(purchases_per_family + 1)):
                    pence, category = rng.choice(amounts)
                    day = opened + timedelta(days=rng.randrange(1, 200))
                    if day > TODAY:
                        continue
                    captured = pence if rng.random() < 0.95 else 0
                    refunded = pence // 3 if captured and rng.random() < 0.03 else 0
                    answered = sorted({n.id for n in rng.sample(own, rng.randint(1, len(own)))})
                    county.purchases.append(
                        GPurchase(
                            next_id("purchase"),
                            family.id,
                            team,
                            rng.randrange(2),
                            category if category in CATEGORIES else rng.choice(CATEGORIES),
                            pence,
                            captured,
                            refunded,
                            day,
                            answered,
                        )
                    )
    _checks(county, random.Random(seed + 1))
    return county


def _checks(county: County, rng: random.Random) -> None:
    """Every closed case's six-month check (its own random stream, so the rest is as before):
    most recorded within weeks of falling due, some not yet, a few families not reached."""
    for family in county.families:
        if family.closed_on is None:
            continue
        due = family.closed_on + SUSTAIN_CHECK_AFTER
        checked = due + timedelta(days=rng.randrange(-10, 60))
        result = None
        if checked <= TODAY and rng.random() < 0.85:
            result = rng.choice(("sustained", "sustained", "not_sustained", "could_not_contact"))
        county.checks.append(
            GCheck(
                len(county.checks) + 1,
                family.id,
                family.team,
                family.closed_on,
                due,
                result,
                checked if result else None,
            )
        )


@dataclass(frozen=True)
class Rows:
    """The county's bulk rows, table by table, in the order they can be inserted."""

    tables: list[tuple[Any, list[dict[str, Any]]]]


async def set_up(db: AsyncSession, county: County) -> Rows:
    """People, teams, wallets and funding through Tide's own functions; the bulk rows to insert."""
    start = datetime(2023, 3, 1, 9, tzinfo=UTC)
    sources = [
        await budgets.create_funding_source(db, actor=None, code=f"fund{n}", name=name, now=start)
        for n, name in enumerate(county.funding_names)
    ]
    await _person(db, "Fiona Annual", "finance", None, start)  # signs in as fiona.annual@world.invalid
    workers: list[tuple[int, int]] = []
    for n, locality in enumerate(LOCALITIES):
        team = await organisation.create_team(
            db,
            actor=None,
            name=f"{locality} Early Help",
            locality=locality,
            cost_centre=f"EH-{n:02d}",
            department="Children's Services - Early Help",
            default_funding_source_id=sources[0].id,
            now=start,
        )
        person = await _person(db, f"Worker {locality}", "key_worker", team.id, start)
        await budgets.open_wallet(db, actor=None, person_id=person, team_id=team.id, now=start)
        principal = await load_principal(db, person_id=person)
        assert principal.wallet_id is not None
        workers.append((person, principal.wallet_id))
        county.team_ids.append(team.id)
        county.team_names.append(team.name)
    links = [{"family_id": f.id, "case_system": "mosaic", "case_system_id": f.case_id} for f in county.families]
    return Rows(
        [
            (Family, [_family_row(f, county, workers) for f in county.families]),
            (FamilyCaseLink, links),
            (Need, [_need_row(n, workers) for n in county.needs]),
            (NeedReview, [_review_row(r, workers) for r in county.reviews]),
            (SustainCheck, [_check_row(c, county, workers) for c in county.checks]),
            (Purchase, [_purchase_row(p, county, workers, sources) for p in county.purchases]),
            (PurchaseNeed, [{"purchase_id": p.id, "need_id": n} for p in county.purchases for n in p.need_ids]),
        ]
    )


async def load(db: AsyncSession, county: County, *, batch: int = 5000) -> None:
    """Insert the county (keeping the generated ids)."""
    rows = await set_up(db, county)
    for model, table_rows in rows.tables:
        await _bulk(db, model, table_rows, batch)


async def _bulk(db: AsyncSession, model: Any, rows: list[dict[str, Any]], batch: int) -> None:
    for at in range(0, len(rows), batch):
        await db.execute(insert(model), rows[at : at + batch])


def _family_row(f: GFamily, county: County, workers: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "id": f.id,
        "reference": f"FAM{f.id:08d}",
        "team_id": county.team_ids[f.team],
        "lead_worker_id": workers[f.team][0],
        "locality": LOCALITIES[f.team],
        "age_bands": ["5-10"],
        "status": "closed" if f.closed_on else "open",
        "opened_on": f.opened_on,
        "closed_on": f.closed_on,
        "closure_reason": "outcomes_met" if f.closed_on else None,
        "sustain_check_on": f.sustain_check_on,
        "created_at": noon(f.opened_on),
    }


def _check_row(c: GCheck, county: County, workers: list[tuple[int, int]]) -> dict[str, Any]:
    team = c.team
    return {
        "id": c.id,
        "family_id": c.family_id,
        "team_id": county.team_ids[team],
        "worker_id": workers[team][0],
        "closed_on": c.closed_on,
        "due_on": c.due_on,
        "created_at": noon(c.closed_on),
        "result": c.result,
        "checked_on": c.checked_on,
        "recorded_by": workers[team][0] if c.result else None,
        "recorded_at": noon(c.checked_on) if c.checked_on else None,
    }


def _need_row(n: GNeed, workers: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "id": n.id,
        "family_id": n.family_id,
        "code": n.code,
        "whose": n.whose,
        "identified_on": n.identified_on,
        "evidence_source": "school",
        "baseline_score": 3,
        "status": "open",
        "created_by": workers[0][0],
        "created_at": noon(n.identified_on),
    }


def _review_row(r: GReview, workers: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "id": r.id,
        "need_id": r.need_id,
        "outcome": r.outcome,
        "score": 5,
        "reviewed_on": r.reviewed_on,
        "reviewed_by": workers[0][0],
        "created_at": noon(r.reviewed_on),
    }


def _purchase_row(p: GPurchase, county: County, workers: list[tuple[int, int]], sources: list[Any]) -> dict[str, Any]:
    person, wallet = workers[p.team]
    status = ("partly_refunded" if p.refunded else "captured") if p.captured else "held"
    return {
        "id": p.id,
        "family_id": p.family_id,
        "wallet_id": wallet,
        "team_id": county.team_ids[p.team],
        "worker_id": person,
        "funding_source_id": sources[p.funding].id,
        "category": p.category,
        "description": f"{p.category} item",
        "supplier": "Argos",
        "amount": p.amount,
        "vat_evidence": "no_vat_evidence",
        "payment_method": "card",
        "status": status,
        "policy_decision": "allowed",
        "policy_reasons": [],
        "receipt_required": False,
        "captured_amount": p.captured,
        "refunded_amount": p.refunded,
        "created_at": noon(p.day),
        "updated_at": noon(p.day),
    }
