"""A small county with a hand-countable October 2026, for the reports' worked examples.

Two teams in one department, a key worker each, a finance officer. Every amount, date and
VAT fact below is chosen so the tests can add the reports up by hand.

October's card payments (captured on the day the purchase was made, 10:00 UK time):

| # | worker | family | needs              | category | supplier                | £       | VAT facts            |
|---|--------|--------|--------------------|----------|-------------------------|---------|----------------------|
| 1 | Ann    | A      | HOU-COND           | HH-ESS   | Argos                   | 120.00  | 20%, receipt         |
| 2 | Ann    | A      | FIN-DEBT           | FOOD-VCH | Tesco Stores            | 50.00   | outside the scope    |
| 3 | Ann    | A      | HOU-COND, FIN-DEBT | HOUSING  | Mr John Smith, landlord | 200.01  | nothing known        |
| 4 | Ben    | B      | DA                 | SAFETY   | Exeter Women's Refuge   | 89.99   | 20%, no evidence     |
| 5 | Ben    | B      | EDU-ATT            | CLOTH    | Marks & Spencer         | 45.00   | 0%; 15.00 back 20/10 |
| 8 | Ann    | A      | HOU-COND           | HH-ESS   | Argos                   | 40.00   | captured at 45.00    |
| X | Ben    | X1..X5 | EDU-ATT            | CLOTH    | School Uniform Shop Ltd | 5 x 30  | 0%                   |

Also in October: an invoice (#6, Ben, family B, DA, SERVICE, Devon Play Therapy Ltd, £400.00,
20%, receipt attached: recoverable on an invoice though above £250); a refund on 3 October of
£10.00 of September's purchase #0 (Ann, family A, HOU-COND, HH-ESS, Argos, £10.00, 20%,
receipt); a £25.00 hold still open at the month's end (#7, Ann, TRAVEL). Family C has a need
and no purchases. The five X families' EDU-ATT needs were reviewed "improved" on 25 October.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from tests import receipt_files
from wallet import budgets, families, organisation, purchases, receipts
from wallet.access import Principal, load_principal
from wallet.clock import LONDON
from wallet.identity import hash_password
from wallet.models import Purchase
from wallet.policy import PolicyDocument

ALLOW_ALL = PolicyDocument(rules=())
DEPARTMENT = "Children's Services - Early Help"
PNG = receipt_files.png("a receipt")
WORKER_NAMES = ("Annabel Quill", "Benedict Marsh")
TEAM_NAMES = ("Exeter Early Help", "Torridge Early Help")


@functools.cache
def _hash() -> str:
    return hash_password("a long enough password")


def at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock UK time on ``day``."""
    return datetime.combine(day, time(hour), tzinfo=LONDON)


@dataclass
class World:
    ann: Principal
    ben: Principal
    finance: Principal
    family_references: list[str] = field(default_factory=list)
    need_codes: list[str] = field(default_factory=list)
    purchase_ids: dict[str, int] = field(default_factory=dict)
    need_ids: dict[str, int] = field(default_factory=dict)


async def _person(db: AsyncSession, name: str, role: str, team_id: int | None, now: datetime) -> int:
    person = await organisation.create_person(
        db,
        actor=None,
        email=f"{name.lower().replace(' ', '.')}@world.invalid",
        display_name=name,
        password="a long enough password",  # noqa: S106 - a test account
        password_hash=_hash(),
        now=now,
    )
    await organisation.grant_role(db, actor=None, person_id=person.id, role=role, team_id=team_id, now=now)
    return person.id


async def build(db: AsyncSession) -> World:
    start = datetime(2026, 8, 1, 9, tzinfo=UTC)
    source = await budgets.create_funding_source(db, actor=None, code="prevention", name="Prevention Grant", now=start)
    finance_id = await _person(db, "Fiona Ledger", "finance", None, start)
    finance = await load_principal(db, person_id=finance_id)
    await budgets.fund_pot(
        db,
        actor=finance,
        funding_source_id=source.id,
        transfer_id="world:grant",
        amount=1_000_000,
        reason="Grant",
        now=start,
    )
    workers = []
    for n, (team_name, worker_name) in enumerate(zip(TEAM_NAMES, WORKER_NAMES, strict=True)):
        team = await organisation.create_team(
            db,
            actor=None,
            name=team_name,
            locality=team_name.split()[0],
            cost_centre=("EH-EXE", "EH-TOR")[n],
            department=DEPARTMENT,
            default_funding_source_id=source.id,
            now=start,
        )
        person_id = await _person(db, worker_name, "key_worker", team.id, start)
        await budgets.open_wallet(db, actor=None, person_id=person_id, team_id=team.id, now=start)
        worker = await load_principal(db, person_id=person_id)
        for month, amount in ((date(2026, 9, 1), 10_000), (date(2026, 10, 1), 100_000)):
            moment = at(month, 8)
            await budgets.allocate(
                db,
                actor=finance,
                transfer_id=f"world:{month}:team:{team.id}",
                funding_source_id=source.id,
                team_id=team.id,
                wallet_id=None,
                amount=amount,
                month=month,
                reason="Team budget",
                now=moment,
            )
            await budgets.allocate(
                db,
                actor=finance,
                transfer_id=f"world:{month}:wallet:{team.id}",
                funding_source_id=source.id,
                team_id=team.id,
                wallet_id=worker.wallet_id,
                amount=amount,
                month=month,
                reason="Wallet budget",
                now=moment,
            )
        workers.append((worker, team.id))
    (ann, team_a), (ben, team_b) = workers
    world = World(ann=ann, ben=ben, finance=finance)

    async def family(worker: Principal, team_id: int, codes: list[str], identified: date) -> tuple[int, list[int]]:
        opened = await families.open_family(
            db,
            who=worker,
            team_id=team_id,
            lead_worker_id=worker.person_id,
            locality="Devon",
            age_bands=["5-10"],
            opened_on=identified,
            now=at(identified, 9),
        )
        world.family_references.append(opened.reference)
        ids = []
        for code in codes:
            need = await families.add_need(
                db,
                who=worker,
                family_id=opened.id,
                code=code,
                whose="child",
                identified_on=identified,
                evidence_source="school",
                baseline_score=3,
                now=at(identified, 9),
            )
            ids.append(need.id)
            world.need_codes.append(code)
        return opened.id, ids

    family_a, (hou_cond, fin_debt) = await family(ann, team_a, ["HOU-COND", "FIN-DEBT"], date(2026, 9, 1))
    family_b, (da, edu_att) = await family(ben, team_b, ["DA", "EDU-ATT"], date(2026, 10, 1))
    await family(ben, team_b, ["REL-PAR"], date(2026, 10, 1))  # family C: no purchases
    world.need_ids = {"HOU-COND": hou_cond, "FIN-DEBT": fin_debt, "DA": da, "EDU-ATT": edu_att}

    async def buy(  # noqa: PLR0917 - the table above, one row a call
        label: str,
        who: Principal,
        family_id: int,
        needs: list[int],
        category: str,
        supplier: str,
        pence: int,
        day: date,
        *,
        method: str = "card",
        evidence: str = "no_vat_evidence",
        rate: str | None = None,
        capture: int | None = None,
        receipt: bool = False,
    ) -> int:
        ask = purchases.PurchaseAsk(
            family_id=family_id,
            need_ids=needs,
            category=category,
            description=f"{category} item",
            supplier=supplier,
            amount=pence,
            payment_method=method,
            vat_evidence=evidence,
            vat_rate=rate,
        )
        made = await purchases.make_purchase(db, who=who, ask=ask, policy=ALLOW_ALL, now=at(day))
        assert made.purchase.status == "held", made
        if receipt:
            await receipts.attach_receipt(
                db, who=who, purchase_id=made.purchase.id, content=PNG + label.encode(), now=at(day, 11)
            )
        if capture is not None:
            await purchases.capture_purchase(
                db, who=finance, purchase_id=made.purchase.id, amount=capture, now=at(day, 12)
            )
        world.purchase_ids[label] = made.purchase.id
        return made.purchase.id

    p0 = await buy(
        "0",
        ann,
        family_a,
        [hou_cond],
        "HH-ESS",
        "Argos",
        1_000,
        date(2026, 9, 15),
        evidence="vat_receipt",
        rate="20",
        capture=1_000,
        receipt=True,
    )
    await purchases.refund_purchase(
        db, who=finance, purchase_id=p0, amount=1_000, refund_id="world:refund:0", now=at(date(2026, 10, 3))
    )
    await buy(
        "1",
        ann,
        family_a,
        [hou_cond],
        "HH-ESS",
        "Argos",
        12_000,
        date(2026, 10, 5),
        evidence="vat_receipt",
        rate="20",
        capture=12_000,
        receipt=True,
    )
    await buy(
        "2",
        ann,
        family_a,
        [fin_debt],
        "FOOD-VCH",
        "Tesco Stores",
        5_000,
        date(2026, 10, 6),
        evidence="outside_scope",
        capture=5_000,
    )
    await buy(
        "3", ann, family_a, [hou_cond, fin_debt], "HOUSING", "Mr John Smith", 20_001, date(2026, 10, 7), capture=20_001
    )
    await buy(
        "4", ben, family_b, [da], "SAFETY", "Exeter Women's Refuge", 8_999, date(2026, 10, 8), rate="20", capture=8_999
    )
    p5 = await buy(
        "5",
        ben,
        family_b,
        [edu_att],
        "CLOTH",
        "Marks & Spencer",
        4_500,
        date(2026, 10, 9),
        evidence="vat_receipt",
        rate="0",
        capture=4_500,
    )
    await purchases.refund_purchase(
        db, who=finance, purchase_id=p5, amount=1_500, refund_id="world:refund:5", now=at(date(2026, 10, 20))
    )
    await buy(
        "6",
        ben,
        family_b,
        [da],
        "SERVICE",
        "Devon Play Therapy Ltd",
        40_000,
        date(2026, 10, 10),
        method="invoice",
        evidence="vat_receipt",
        rate="20",
        capture=40_000,
        receipt=True,
    )
    await buy("7", ann, family_a, [fin_debt], "TRAVEL", "Stagecoach South West", 2_500, date(2026, 10, 29))
    await buy("8", ann, family_a, [hou_cond], "HH-ESS", "Argos", 4_000, date(2026, 10, 11), capture=4_500)
    for n in range(1, 6):
        x, (x_need,) = await family(ben, team_b, ["EDU-ATT"], date(2026, 10, 1))
        await buy(
            f"X{n}",
            ben,
            x,
            [x_need],
            "CLOTH",
            "School Uniform Shop Ltd",
            3_000,
            date(2026, 10, 12),
            evidence="vat_receipt",
            rate="0",
            capture=3_000,
        )
        await families.review_need(
            db,
            who=ben,
            need_id=x_need,
            outcome="improved",
            score=7,
            reviewed_on=date(2026, 10, 25),
            now=at(date(2026, 10, 25)),
        )
    return world


async def purchase(db: AsyncSession, purchase_id: int) -> Purchase:
    found = await db.get(Purchase, purchase_id)
    assert found is not None
    return found
