"""Funding pots kept whole: fund, allocate, buy, settle, refund, cancel and return in random
order, and every pot's figures stay equal to the ledger's and to a model kept here.

The model is this file's own: what each accepted step should add to which pot. The app's
records (``reports.pots.pot_figures``) must agree with it, and the ledger must agree with the
records (``reports.pots.pot_findings``) after every step. Two pots: one open grant, and one
that funds clothing only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

import ledger
from ledger.database import create_engine
from reports.pots import pot_figures, pot_findings
from tests.wallet.support import Case, County, Worker
from wallet import budgets
from wallet.access import Principal, load_principal
from wallet.claw_back import claw_back
from wallet.clock import local_date, now_utc
from wallet.errors import (
    DatesOutOfOrder,
    FundingSourceNotEligible,
    FundingSourceNotFunded,
    NothingToChange,
    UnknownCode,
    WalletError,
)
from wallet.funding import grant_refusal, set_grant_conditions
from wallet.models import FundingSource, Purchase, Wallet
from wallet.policy import PolicyDocument
from wallet.purchases import PurchaseAsk, cancel_purchase, capture_purchase, make_purchase, refund_purchase
from wallet.returns import return_unspent

OPEN_POLICY = PolicyDocument(rules=())
POTS, WORKERS = 2, 2
amounts = st.integers(min_value=1, max_value=6_000)
STEPS = st.one_of(
    st.tuples(st.just("fund"), st.integers(0, POTS - 1), amounts),
    st.tuples(st.just("team"), st.integers(0, POTS - 1), amounts),
    st.tuples(st.just("wallet"), st.integers(0, POTS - 1), st.integers(0, WORKERS - 1), amounts),
    st.tuples(
        st.just("buy"), st.integers(0, WORKERS - 1), amounts, st.sampled_from(["CLOTH", "HH-ESS"]),
        st.sampled_from([None, 0, 1]),
    ),
    st.tuples(st.just("capture"), st.integers(0, 30), st.integers(1, 100)),
    st.tuples(st.just("refund"), st.integers(0, 30), st.integers(1, 100)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("return"), st.integers(0, WORKERS - 1), st.integers(0, POTS - 1), st.one_of(st.none(), amounts)),
    st.tuples(st.just("end"), st.integers(0, POTS - 1)),
    st.tuples(st.just("claw"), st.integers(0, POTS - 1)),
)  # fmt: skip


@dataclass
class Model:
    """What each pot should show: funded, allocated to teams, to wallets, returned, and the
    purchases charged to it (id → what it takes now)."""

    funded: list[int] = field(default_factory=lambda: [0] * POTS)
    allocated: list[int] = field(default_factory=lambda: [0] * POTS)
    to_wallets: list[int] = field(default_factory=lambda: [0] * POTS)
    returned: list[int] = field(default_factory=lambda: [0] * POTS)
    takes: dict[int, tuple[int, int]] = field(default_factory=dict)  # purchase id → (pot index, pence)
    purchases: list[int] = field(default_factory=list)

    def spent(self, pot: int) -> int:
        return sum(pence for index, pence in self.takes.values() if index == pot)

    def claw_back(self, pot: int) -> int:
        """Everything of the pot not spent goes back: the wallets' shares to the team budgets,
        the team budgets to the pot, the pot to the funder. Returns what the funder gets."""
        from_wallets = self.to_wallets[pot] - self.returned[pot] - self.spent(pot)
        from_teams = self.allocated[pot] - self.to_wallets[pot] + self.returned[pot] + from_wallets
        given = self.funded[pot] - self.allocated[pot] + from_teams
        self.returned[pot] += from_wallets
        self.allocated[pot] -= from_teams
        self.funded[pot] -= given
        return given


@dataclass
class World:
    county: County
    finance: Principal
    team_id: int
    pots: list[FundingSource]
    workers: list[Worker]
    cases: list[Case]


async def _world(county: County) -> World:
    now = now_utc()
    tag = uuid.uuid4().hex[:8]
    workers = [await county.new_key_worker(team_id=1, wallet_pence=0) for _ in range(WORKERS)]
    cases = [await county.open_family(worker) for worker in workers]
    async with county.session() as db:
        finance = await load_principal(db, person_id=await _finance_id(county))
        pots = [
            await budgets.create_funding_source(db, actor=None, code=f"pot{i}-{tag}", name=f"Pot {i}", now=now)
            for i in range(POTS)
        ]
        await db.execute(
            update(FundingSource).where(FundingSource.id == pots[1].id).values(eligible_categories=["CLOTH"])
        )
    return World(county, finance, 1, pots, workers, cases)


async def _finance_id(county: County) -> int:
    return await county.person_id("finance")


async def _step(world: World, model: Model, step: tuple[Any, ...]) -> None:  # noqa: PLR0912
    county, now, tag = world.county, now_utc(), uuid.uuid4().hex
    kind = step[0]
    async with county.session() as db:
        try:
            if kind == "fund":
                _, pot, amount = step
                outcome = await budgets.fund_pot(
                    db, actor=None, funding_source_id=world.pots[pot].id, transfer_id=f"f:{tag}", amount=amount,
                    reason="t", now=now,
                )  # fmt: skip
                if outcome.accepted:
                    model.funded[pot] += amount
            elif kind in ("team", "wallet"):
                pot, amount = step[1], step[-1]
                wallet_id = world.workers[step[2]].wallet_id if kind == "wallet" else None
                result = await budgets.allocate(
                    db, actor=world.finance, transfer_id=f"a:{tag}", funding_source_id=world.pots[pot].id,
                    team_id=world.team_id, wallet_id=wallet_id, amount=amount, month=None, reason="t", now=now,
                )  # fmt: skip
                if result.allocation is not None:
                    (model.allocated if kind == "team" else model.to_wallets)[pot] += amount
            elif kind == "buy":
                _, worker, amount, category, asked = step
                case = world.cases[worker]
                who = await load_principal(db, person_id=world.workers[worker].person_id)
                made = await make_purchase(
                    db, who=who, now=now, policy=OPEN_POLICY,
                    ask=PurchaseAsk(
                        family_id=case.family_id, need_ids=case.need_ids, category=category, description="t",
                        supplier="s", amount=amount, payment_method="invoice",
                        funding_source_id=None if asked is None else world.pots[asked].id,
                    ),
                )  # fmt: skip
                purchase = made.purchase
                model.purchases.append(purchase.id)
                if purchase.status == "held":  # a declined purchase takes nothing from any pot
                    pot = [p.id for p in world.pots].index(purchase.funding_source_id)
                    assert pot != 1 or category == "CLOTH", "a clothing-only grant paid for something else"
                    model.takes[purchase.id] = (pot, amount)
            elif kind in ("capture", "refund", "cancel") and model.purchases:
                purchase_id = model.purchases[step[1] % len(model.purchases)]
                found = await db.get(Purchase, purchase_id)
                assert found is not None
                purchase = found
                pot = model.takes.get(purchase_id, (0, 0))[0]
                if kind == "capture" and purchase.status == "held":
                    amount = max(1, purchase.amount * int(step[2]) // 100)
                    await capture_purchase(db, who=world.finance, purchase_id=purchase_id, amount=amount, now=now)
                    model.takes[purchase_id] = (pot, amount)
                elif kind == "refund" and purchase.status in ("captured", "partly_refunded"):
                    left = purchase.captured_amount - purchase.refunded_amount
                    amount = max(1, left * int(step[2]) // 100)
                    _, declined = await refund_purchase(
                        db, who=world.finance, purchase_id=purchase_id, amount=amount, refund_id=f"r:{tag}", now=now
                    )
                    if declined is None:
                        model.takes[purchase_id] = (pot, model.takes[purchase_id][1] - amount)
                elif kind == "cancel" and purchase.status == "held":
                    await cancel_purchase(db, who=world.finance, purchase_id=purchase_id, now=now)
                    model.takes[purchase_id] = (pot, 0)
            elif kind == "return":
                _, worker, pot, amount = step
                result = await return_unspent(
                    db, actor=world.finance, transfer_id=f"ret:{tag}", wallet_id=world.workers[worker].wallet_id or 0,
                    funding_source_id=world.pots[pot].id, amount=amount, reason="t", now=now,
                )  # fmt: skip
                if result.allocation is not None:
                    model.returned[pot] += result.allocation.amount
            elif kind == "end":
                await set_grant_conditions(
                    db, actor=world.finance, funding_source_id=world.pots[step[1]].id, starts_on=None,
                    ends_on=local_date(now) - timedelta(days=1), categories=world.pots[step[1]].eligible_categories,
                    needs=[], team_ids=[], claw_back_unspent=True, now=now,
                )  # fmt: skip
            elif kind == "claw":
                given = await claw_back(
                    db, actor=world.finance, funding_source_id=world.pots[step[1]].id, transfer_id=f"cb:{tag}", now=now
                )
                assert given == model.claw_back(step[1])
        except (WalletError, ledger.LedgerError):
            pass


async def _check(world: World, model: Model) -> None:
    async with world.county.session() as db:
        later = now_utc() + timedelta(seconds=1)
        findings = await pot_findings(
            db, now=later, source_ids=[p.id for p in world.pots], wallet_ids=[w.wallet_id or 0 for w in world.workers]
        )
        assert findings == []
        for index, source in enumerate(world.pots):
            figures = await pot_figures(db, source=source, as_at=later)
            assert (figures.funded, figures.allocated, figures.to_wallets, figures.returned, figures.spent) == (
                model.funded[index], model.allocated[index], model.to_wallets[index], model.returned[index],
                model.spent(index),
            )  # fmt: skip


@pytest.mark.postgresql
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)
@given(steps=st.lists(STEPS, min_size=1, max_size=20))
def test_every_pots_figures_equal_the_ledgers_whatever_the_order(
    wallet_county_postgres: str, steps: list[tuple[Any, ...]]
) -> None:
    async def run() -> None:
        engine = create_engine(wallet_county_postgres, pool_size=2)
        try:
            county = County(engine)
            world, model = await _world(county), Model()
            for step in steps:
                await _step(world, model, step)
                await _check(world, model)
        finally:
            await engine.dispose()

    asyncio.run(run())


async def test_a_purchase_is_never_charged_to_a_grant_that_never_funded_the_wallet(county: County) -> None:
    world = await _world(county)
    model = Model()
    await _step(world, model, ("fund", 0, 5_000))
    await _step(world, model, ("team", 0, 5_000))
    await _step(world, model, ("wallet", 0, 0, 5_000))
    case, who_id = world.cases[0], world.workers[0].person_id
    async with county.session() as db:
        who = await load_principal(db, person_id=who_id)
        ask = PurchaseAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="CLOTH", description="t", supplier="s",
            amount=1_000, payment_method="invoice", funding_source_id=world.pots[1].id,
        )  # fmt: skip
        with pytest.raises(FundingSourceNotFunded):
            await make_purchase(db, who=who, ask=ask, policy=OPEN_POLICY, now=now_utc())
    async with county.session() as db:
        made = await make_purchase(
            db, who=who, ask=dataclasses.replace(ask, funding_source_id=None), policy=OPEN_POLICY,
            now=now_utc(),
        )  # fmt: skip
        assert made.purchase.funding_source_id == world.pots[0].id


async def test_a_grant_for_clothing_only_never_pays_for_anything_else(county: County) -> None:
    world = await _world(county)
    model = Model()
    for step in (("fund", 1, 5_000), ("team", 1, 5_000), ("wallet", 1, 0, 5_000)):
        await _step(world, model, step)
    case = world.cases[0]
    async with county.session() as db:
        who = await load_principal(db, person_id=world.workers[0].person_id)
        ask = PurchaseAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", description="t", supplier="s",
            amount=1_000, payment_method="invoice",
        )  # fmt: skip
        with pytest.raises(FundingSourceNotEligible):
            await make_purchase(db, who=who, ask=ask, policy=OPEN_POLICY, now=now_utc())


async def test_a_return_goes_back_to_the_pot_that_paid_and_no_further(county: County) -> None:
    world = await _world(county)
    model = Model()
    for step in (("fund", 0, 5_000), ("team", 0, 5_000), ("wallet", 0, 0, 3_000)):
        await _step(world, model, step)
    for step in (("fund", 1, 5_000), ("team", 1, 5_000), ("wallet", 1, 0, 2_000)):
        await _step(world, model, step)
    async with county.session() as db:
        with pytest.raises(FundingSourceNotFunded):  # pot 1 put in 2,000 only: the rest is pot 0's
            await return_unspent(
                db, actor=world.finance, transfer_id=f"ret:{uuid.uuid4().hex}",
                wallet_id=world.workers[0].wallet_id or 0, funding_source_id=world.pots[1].id, amount=2_500,
                reason="t", now=now_utc(),
            )  # fmt: skip
    await _step(world, model, ("return", 0, 1, None))  # everything unspent from pot 1, and only that
    assert model.returned == [0, 2_000]
    await _check(world, model)


async def test_money_returned_is_not_counted_as_allocated_this_month(county: County) -> None:
    world = await _world(county)
    model = Model()
    for step in (("fund", 0, 5_000), ("team", 0, 5_000), ("wallet", 0, 0, 3_000), ("return", 0, 0, 1_000)):
        await _step(world, model, step)
    async with county.session() as db:
        wallet = await budgets.get_wallet(db, who=world.finance, wallet_id=world.workers[0].wallet_id or 0)
        summary = await budgets.summarise_wallet(db, wallet=wallet, now=now_utc())
    assert summary.allocated_this_month == 3_000
    assert summary.available == 2_000


async def test_a_grant_that_has_ended_pays_for_nothing_and_its_unspent_pot_is_clawed_back(county: County) -> None:
    world = await _world(county)
    model = Model()
    for step in (("fund", 0, 9_000), ("team", 0, 5_000), ("wallet", 0, 0, 5_000)):
        await _step(world, model, step)
    today = local_date(now_utc())
    async with county.session() as db:
        with pytest.raises(NothingToChange):  # still running: nothing to claw back yet
            await claw_back(
                db,
                actor=world.finance,
                funding_source_id=world.pots[0].id,
                transfer_id=f"cb:{uuid.uuid4().hex}",
                now=now_utc(),
            )
    async with county.session() as db:
        await set_grant_conditions(
            db, actor=world.finance, funding_source_id=world.pots[0].id, starts_on=None,
            ends_on=today - timedelta(days=1), categories=[], needs=[], team_ids=[], claw_back_unspent=True,
            now=now_utc(),
        )  # fmt: skip
    case = world.cases[0]
    async with county.session() as db:
        who = await load_principal(db, person_id=world.workers[0].person_id)
        ask = PurchaseAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="CLOTH", description="t", supplier="s",
            amount=1_000, payment_method="invoice",
        )  # fmt: skip
        with pytest.raises(FundingSourceNotEligible):
            await make_purchase(db, who=who, ask=ask, policy=OPEN_POLICY, now=now_utc())
    async with county.session() as db:
        given_back = await claw_back(
            db, actor=world.finance, funding_source_id=world.pots[0].id, transfer_id=f"cb:{uuid.uuid4().hex}",
            now=now_utc(),
        )  # fmt: skip
    assert given_back == 9_000  # nothing was spent: the pot's 4,000 and the wallet's 5,000
    assert model.claw_back(0) == given_back
    await _check(world, model)


async def test_claw_back_takes_the_unspent_money_from_team_budgets_and_wallets_not_what_is_held(
    county: County,
) -> None:
    world = await _world(county)
    model = Model()
    steps = (("fund", 0, 10_000), ("team", 0, 8_000), ("wallet", 0, 0, 3_000), ("wallet", 0, 1, 2_000))
    for step in (*steps, ("buy", 0, 1_000, "CLOTH", 0), ("buy", 1, 500, "CLOTH", 0), ("capture", 1, 100)):
        await _step(world, model, step)
    assert [pot for pot, _ in model.takes.values()] == [0, 0]  # one held for 1,000, one spent 500
    await _step(world, model, ("end", 0))
    await _step(world, model, ("claw", 0))  # the step asserts the 8,500 given back
    assert model.funded[0] == 1_500
    async with county.session() as db:
        wallets = [await db.get(Wallet, w.wallet_id) for w in world.workers]
        balances = [await ledger.balance(db, account_id=w.account_id) for w in wallets if w is not None]
        assert [(b.available, b.debits_pending) for b in balances] == [(0, 1_000), (0, 0)]  # the hold stays put
        team = await budgets.team_budget(db, team_id=world.team_id, funding_source_id=world.pots[0].id)
        assert (await ledger.balance(db, account_id=team.account_id)).available == 0
    await _check(world, model)
    await _step(world, model, ("capture", 0, 50))  # the purchase that held 1,000 takes 500
    await _step(world, model, ("claw", 0))  # so the next claw-back takes the 500 released
    assert model.funded[0] == 1_000
    await _check(world, model)


async def test_a_grants_conditions_are_checked_when_set(county: County) -> None:
    world = await _world(county)
    today = local_date(now_utc())
    async with county.session() as db:
        with pytest.raises(DatesOutOfOrder):
            await set_grant_conditions(
                db, actor=world.finance, funding_source_id=world.pots[0].id, starts_on=today,
                ends_on=today - timedelta(days=1), categories=[], needs=[], team_ids=[], claw_back_unspent=False,
                now=now_utc(),
            )  # fmt: skip
    async with county.session() as db:
        with pytest.raises(UnknownCode):
            await set_grant_conditions(
                db, actor=world.finance, funding_source_id=world.pots[0].id, starts_on=None, ends_on=None,
                categories=["YACHTS"], needs=[], team_ids=[], claw_back_unspent=False, now=now_utc(),
            )  # fmt: skip


@pytest.mark.parametrize(
    ("day", "refusal"),
    [
        (date(2026, 3, 31), "the grant g starts on 2026-04-01"),
        (date(2026, 4, 1), None),  # its first day
        (date(2027, 3, 31), None),  # its last day
        (date(2027, 4, 1), "the grant g ended on 2027-03-31"),
    ],
)
def test_a_grant_pays_only_within_its_dates_first_and_last_day_included(day: date, refusal: str | None) -> None:
    grant = FundingSource(code="g", starts_on=date(2026, 4, 1), ends_on=date(2027, 3, 31))
    assert grant_refusal(grant, category="CLOTH", needs=(), team_id=1, on=day) == refusal


async def test_a_grant_not_yet_started_pays_for_nothing(county: County) -> None:
    world = await _world(county)
    model = Model()
    for step in (("fund", 0, 5_000), ("team", 0, 5_000), ("wallet", 0, 0, 5_000)):
        await _step(world, model, step)
    async with county.session() as db:
        await set_grant_conditions(
            db, actor=world.finance, funding_source_id=world.pots[0].id, starts_on=local_date(now_utc()) + timedelta(1),
            ends_on=None, categories=[], needs=[], team_ids=[], claw_back_unspent=False, now=now_utc(),
        )  # fmt: skip
    case = world.cases[0]
    async with county.session() as db:
        who = await load_principal(db, person_id=world.workers[0].person_id)
        ask = PurchaseAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="CLOTH", description="t", supplier="s",
            amount=1_000, payment_method="invoice",
        )  # fmt: skip
        with pytest.raises(FundingSourceNotEligible):
            await make_purchase(db, who=who, ask=ask, policy=OPEN_POLICY, now=now_utc())


async def test_a_second_claw_back_under_the_same_id_takes_only_what_came_unspent_since(county: County) -> None:
    world, model, day_id = await _world(county), Model(), f"claw-back-day:{uuid.uuid4().hex}"
    for step in (("fund", 0, 5_000), ("team", 0, 5_000), ("wallet", 0, 0, 5_000), ("buy", 0, 1_000, "CLOTH", 0)):
        await _step(world, model, step)
    await _step(world, model, ("end", 0))

    async def claw() -> int:
        async with county.session() as db:
            return await claw_back(
                db, actor=world.finance, funding_source_id=world.pots[0].id, transfer_id=day_id, now=now_utc()
            )

    assert await claw() == model.claw_back(0) == 4_000  # the 1,000 held stays
    await _step(world, model, ("capture", 0, 50))  # the purchase takes 500: 500 comes unspent
    assert await claw() == model.claw_back(0) == 500  # the daily job's id again, the same day
    with pytest.raises(NothingToChange):
        await claw()
    await _check(world, model)
