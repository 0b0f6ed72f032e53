"""Demo data: a realistic county, so ``make run`` opens on something that looks like work.

Figures follow the shared domain notes: six localities, twelve key workers each, £125 per
worker per month, about fourteen families per worker with two to four coded needs, and three
months of purchases drawn like Devon County Council's early help card (median £62, p90 £232),
each asked of the spend policy like any other: most allowed, some waiting for a manager, a
few declined, a few refunded. Seeding is refused politely the second time: it changes nothing.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import budgets, families, organisation, proposals, purchases
from wallet.access import Principal, load_principal
from wallet.clock import LONDON, as_utc, local_date, local_midnight, month_start, next_month, previous_month
from wallet.duties import DEFAULT_FUNDING_SECOND_PERSON_ABOVE
from wallet.models import Family, Need, Person, Purchase
from wallet.policies import publish_policy
from wallet.policy import DEFAULT_POLICY
from wallet.proposal_models import Proposal
from wallet.taxonomy import CATEGORIES, EVIDENCE_SOURCES, NEEDS

DEMO_PASSWORD = "tide-demo-password"  # noqa: S105 - published demo sign-in, printed by seed-demo
DEMO_DOMAIN = "demo.tide.invalid"
LOCALITIES = ("Exeter", "East Devon", "Mid Devon", "North Devon", "South Hams", "Torridge")
WALLET_PER_MONTH = 12_500
SEED = 20261122

_AMOUNT_QUANTILES = (0.0, 0.10, 0.25, 0.50, 0.75, 0.90, 1.0)
_AMOUNT_PENCE = (500, 1_300, 3_000, 6_200, 16_000, 23_200, 59_900)
_CATEGORY_WEIGHTS = {
    "HH-ESS": 28,
    "CLOTH": 18,
    "TRAVEL": 12,
    "FOOD-VCH": 6,
    "ACTIVITY": 8,
    "LEARN": 8,
    "SAFETY": 4,
    "DIGITAL": 5,
    "PARENT-DEV": 4,
    "HEALTH": 3,
    "SEND-EQ": 2,
    "SERVICE": 2,
}
_SUPPLIERS = {
    "HH-ESS": "Argos",
    "CLOTH": "Marks & Spencer",
    "TRAVEL": "Stagecoach South West",
    "FOOD-VCH": "Tesco Stores",
    "ACTIVITY": "Exeter Leisure",
    "LEARN": "Amazon UK Marketplace",
    "SAFETY": "Screwfix",
    "DIGITAL": "Currys",
    "PARENT-DEV": "Parenting Matters CIC",
    "HEALTH": "Boots",
    "SEND-EQ": "Sensory Direct",
    "SERVICE": "Devon Play Therapy Ltd",
}


SIGN_INS = (
    ("admin", "admin"),
    ("finance", "finance"),
    ("auditor", "auditor"),
    ("manager.exeter", "team manager"),
    ("kw.exeter.01", "key worker"),
)


@dataclass
class DemoSummary:
    """What seeding made; ``already`` when the demo was loaded before."""

    teams: int = 0
    key_workers: int = 0
    families: int = 0
    needs: int = 0
    purchases: int = 0
    awaiting_approval: int = 0
    declined: int = 0
    refunded: int = 0
    already: bool = False
    sign_ins: list[tuple[str, str]] = field(default_factory=list)


def demo_amount(rng: random.Random) -> int:
    """An amount in pence drawn from Devon's early help card distribution."""
    u = rng.random()
    i = min(bisect_right(_AMOUNT_QUANTILES, u) - 1, len(_AMOUNT_QUANTILES) - 2)
    q0, q1 = _AMOUNT_QUANTILES[i], _AMOUNT_QUANTILES[i + 1]
    a0, a1 = _AMOUNT_PENCE[i], _AMOUNT_PENCE[i + 1]
    return round(a0 + (a1 - a0) * (u - q0) / (q1 - q0))


def email(name: str) -> str:
    return f"{name}@{DEMO_DOMAIN}"


#: The demo teams' offices' postcode (where their physical cards go): made up.
DEMO_POSTCODE = "EX1 9ZZ"


def demo_mobile(name: str) -> str:
    """A made-up work mobile in Ofcom's range for drama (07700 900000 to 900999): nobody's."""
    return f"+447700900{int(hashlib.sha256(name.encode()).hexdigest(), 16) % 1000:03d}"


async def _person(db: AsyncSession, name: str, display: str, roles: list[tuple[str, int | None]], now: datetime) -> int:
    person = await organisation.create_person(
        db,
        actor=None,
        email=email(name),
        display_name=display,
        password=DEMO_PASSWORD,  # hashed for each account, with its own salt
        now=now,
        work_mobile=demo_mobile(name),
    )
    for role, team_id in roles:
        await organisation.grant_role(db, actor=None, person_id=person.id, role=role, team_id=team_id, now=now)
    return person.id


async def seed_demo(
    db: AsyncSession,
    *,
    now: datetime | None = None,
    localities: tuple[str, ...] = LOCALITIES,
    workers_per_team: int = 12,
    families_per_worker: int = 14,
    months: int = 3,
) -> DemoSummary:
    """Load the demo county (or report that it is already there): ``months`` months ending with
    the one ``now`` (default: the clock's) falls in."""
    summary = DemoSummary(sign_ins=[(email(name), role) for name, role in SIGN_INS])
    if (await db.execute(select(Person.id).where(Person.email == email("admin")))).first():
        summary.already = True
        summary.families = int((await db.execute(select(func.count()).select_from(Family))).scalar_one())
        summary.purchases = int((await db.execute(select(func.count()).select_from(Purchase))).scalar_one())
        return summary
    rng = random.Random(SEED)
    now = as_utc(now)
    first_month = month_start(local_date(now))
    for _ in range(months - 1):
        first_month = previous_month(first_month)
    start = local_midnight(first_month)
    finance, source_id = await _council(
        db, start=start, funding=WALLET_PER_MONTH * workers_per_team * len(localities) * months
    )
    workers = await _teams(
        db, localities=localities, workers_per_team=workers_per_team, source_id=source_id, start=start, summary=summary
    )
    month = first_month
    for m in range(months):
        await _monthly_budgets(db, finance=finance, workers=workers, source_id=source_id, month=month)
        if m == 0:
            await _families(
                db, rng=rng, workers=workers, per_worker=families_per_worker, first_month=first_month, summary=summary
            )
        await _purchases_for_month(db, rng=rng, workers=workers, finance=finance, month=month, now=now, summary=summary)
        month = next_month(month)
    return summary


async def _council(db: AsyncSession, *, start: datetime, funding: int) -> tuple[Principal, int]:
    """The council-wide people, the spend policy and the funding: finance, and the grant's id."""
    admin_id = await _person(db, "admin", "Alex Admin", [("admin", None)], start)
    finance_id = await _person(db, "finance", "Fran Finance", [("finance", None)], start)
    await _person(db, "auditor", "Audrey Auditor", [("auditor", None)], start)
    await publish_policy(
        db,
        who=None,
        document=DEFAULT_POLICY.model_dump(mode="json"),
        note="Council policy: £100 without approval, £250 ceiling, £300 per case",
        now=start,
    )
    prevention = await budgets.create_funding_source(
        db, actor=None, code="prevention", name="Children's Social Care Prevention Grant", now=start
    )
    await budgets.create_funding_source(db, actor=None, code="public-health", name="Public Health Grant", now=start)
    finance = await load_principal(db, person_id=finance_id)
    admin = await load_principal(db, person_id=admin_id)
    # Two people: finance records the grant, the admin confirms it (above the threshold).
    funded = await proposals.fund_or_propose(
        db, who=finance, funding_source_id=prevention.id, transfer_id="demo:grant", amount=funding,
        reason="Prevention grant for the quarter", second_person_above=DEFAULT_FUNDING_SECOND_PERSON_ABOVE, now=start,
    )  # fmt: skip
    if isinstance(funded, Proposal):
        await proposals.confirm(
            db, who=admin, proposal_id=funded.id, now=start, second_person_above=DEFAULT_FUNDING_SECOND_PERSON_ABOVE
        )
    return finance, prevention.id


async def _teams(
    db: AsyncSession, *, localities: tuple[str, ...], workers_per_team: int, source_id: int, start: datetime,
    summary: DemoSummary,
) -> list[tuple[Principal, int]]:  # fmt: skip
    """A team per locality with its manager and key workers, each with a wallet: (worker, team id)."""
    workers: list[tuple[Principal, int]] = []
    for locality in localities:
        slug = locality.lower().replace(" ", "-")
        team = await organisation.create_team(
            db, actor=None, name=f"{locality} Early Help", locality=locality, cost_centre=f"EH-{slug.upper()[:8]}",
            department="Children's Services - Early Help", default_funding_source_id=source_id, now=start,
            office_line1=f"{locality} Family Hub", office_city=locality, office_postal_code=DEMO_POSTCODE,
        )  # fmt: skip
        summary.teams += 1
        await _person(db, f"manager.{slug}", f"{locality} Manager", [("team_manager", team.id)], start)
        for n in range(1, workers_per_team + 1):
            name = f"Key Worker {locality} {n}"
            person_id = await _person(db, f"kw.{slug}.{n:02d}", name, [("key_worker", team.id)], start)
            await budgets.open_wallet(db, actor=None, person_id=person_id, team_id=team.id, now=start)
            workers.append((await load_principal(db, person_id=person_id), team.id))
            summary.key_workers += 1
    return workers


async def _monthly_budgets(
    db: AsyncSession, *, finance: Principal, workers: list[tuple[Principal, int]], source_id: int, month: date
) -> None:
    """The month's budgets, pushed down at its first moment: pot → each team → each wallet."""
    moment = local_midnight(month)
    for team_id in sorted({t for _, t in workers}):
        team_workers = [w for w, t in workers if t == team_id]
        gifts: list[tuple[str, int | None, int, str]] = [
            (f"team:{team_id}", None, WALLET_PER_MONTH * len(team_workers), "Monthly team budget")
        ]
        gifts += [
            (f"wallet:{w.wallet_id}", w.wallet_id, WALLET_PER_MONTH, "Monthly wallet budget") for w in team_workers
        ]
        for key, wallet_id, amount, reason in gifts:
            await budgets.allocate(
                db, actor=finance, transfer_id=f"demo:{month:%Y-%m}:{key}", funding_source_id=source_id,
                team_id=team_id, wallet_id=wallet_id, amount=amount, month=month, reason=reason, now=moment,
            )  # fmt: skip


async def _families(
    db: AsyncSession, *, rng: random.Random, workers: list[tuple[Principal, int]], per_worker: int,
    first_month: date, summary: DemoSummary,
) -> None:  # fmt: skip
    """Each worker's families, opened up to four months before the demo's first month, each
    with two to four coded needs."""
    moment = local_midnight(first_month)
    need_codes = list(NEEDS)
    for worker, team_id in workers:
        for _ in range(per_worker):
            family = await families.open_family(
                db, who=worker, team_id=team_id, lead_worker_id=worker.person_id,
                locality=LOCALITIES[team_id % len(LOCALITIES)],
                age_bands=rng.sample(["0-4", "5-10", "11-15", "16-18"], rng.randint(1, 3)),
                opened_on=first_month - timedelta(days=rng.randint(0, 120)), now=moment,
            )  # fmt: skip
            summary.families += 1
            for code in rng.sample(need_codes, rng.randint(2, 4)):
                await families.add_need(
                    db, who=worker, family_id=family.id, code=code, whose=rng.choice(["child", "parent", "household"]),
                    identified_on=family.opened_on, evidence_source=rng.choice(EVIDENCE_SOURCES),
                    baseline_score=rng.randint(2, 6), now=moment,
                )  # fmt: skip
                summary.needs += 1


async def _purchases_for_month(
    db: AsyncSession,
    *,
    rng: random.Random,
    workers: list[tuple[Principal, int]],
    finance: Principal,
    month: date,
    now: datetime,
    summary: DemoSummary,
) -> None:
    categories, weights = list(_CATEGORY_WEIGHTS), list(_CATEGORY_WEIGHTS.values())
    nothing_settled_yet = True
    for worker, _team in workers:
        family_rows = await db.execute(select(Family.id).where(Family.lead_worker_id == worker.person_id))
        family_ids = list(family_rows.scalars())
        for n in range(rng.randint(1, 3)):
            when = _purchase_moment(rng, month=month, now=now, first=n == 0)
            if when is None:
                continue
            family_id = rng.choice(family_ids)
            needs = list((await db.execute(select(Need.id).where(Need.family_id == family_id))).scalars())
            category = rng.choices(categories, weights)[0]
            ask = purchases.PurchaseAsk(
                family_id=family_id,
                need_ids=needs[: rng.randint(1, 2)],
                category=category,
                description=CATEGORIES[category].examples.split(",")[0].strip().capitalize(),
                supplier=_SUPPLIERS[category],
                amount=demo_amount(rng),
                payment_method="card",
                vat_evidence="vat_receipt" if category != "FOOD-VCH" else "outside_scope",
            )
            result = await purchases.make_purchase(db, who=worker, ask=ask, policy=DEFAULT_POLICY, now=when)
            summary.purchases += 1
            status = result.purchase.status
            if status == "needs_approval":
                summary.awaiting_approval += 1
            elif status == "declined":
                summary.declined += 1
            elif status == "held" and (
                settled := _settlement_moment(rng, bought=when, now=now, first=nothing_settled_yet)
            ):
                nothing_settled_yet = False
                captured = await purchases.capture_purchase(
                    db, who=finance, purchase_id=result.purchase.id, amount=result.purchase.amount, now=settled
                )
                if rng.random() < 0.04:
                    await purchases.refund_purchase(
                        db,
                        who=finance,
                        purchase_id=captured.id,
                        amount=captured.amount,
                        refund_id=f"demo:refund:{captured.id}",
                        now=min(when + timedelta(days=3), settled + (now - settled) / 2),
                    )
                    summary.refunded += 1


def _purchase_moment(rng: random.Random, *, month: date, now: datetime, first: bool) -> datetime | None:
    """When a demo purchase was made: a working hour of a day in ``month``, or ``None`` when
    that is still to come. A worker's first purchase of the month is never to come: it is
    placed in what has passed of the month instead, so the month so far always has purchases
    to show, even in its first minutes, and about as many as the days gone would bring."""
    day = month + timedelta(days=rng.randint(0, 27))
    when = datetime.combine(day, time(rng.randint(9, 16), rng.randint(0, 59)), tzinfo=LONDON).astimezone(UTC)
    if when < now:
        return when
    if not first:
        return None
    opened = local_midnight(month)
    return opened + (now - opened) * rng.uniform(0.05, 0.95)


def _settlement_moment(rng: random.Random, *, bought: datetime, now: datetime, first: bool) -> datetime | None:
    """When the card processor settled a purchase (two hours later), or ``None`` for one still
    pending: about half of those from the last two days are, but never the month's ``first``
    held one (so even a month minutes old has settled spend to show)."""
    settled = bought + timedelta(hours=2)
    if settled <= now - timedelta(days=2):
        return settled
    if not first and rng.random() < 0.5:
        return None
    return bought + (now - bought) / 2
