"""Setting up what a wallet test needs, straight through the services: staff, money, families.

Each test makes its own key workers (with their own funded wallets) and families, so balances
and caps start from known figures whatever else has run against the same database. Every
helper commits and closes its session before returning: on SQLite a transaction holds the
write lock, and the app under test must be free to write.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import ledger
from tests import receipt_files
from wallet import budgets, families, organisation
from wallet.access import Principal, load_principal
from wallet.clock import local_date, now_utc
from wallet.demo import DEMO_PASSWORD, email
from wallet.duties import DEFAULT_FUNDING_SECOND_PERSON_ABOVE
from wallet.identity import create_token, hash_password
from wallet.models import FundingSource, Person, Purchase, Wallet

PASSWORD = DEMO_PASSWORD
PNG = receipt_files.png("a till receipt")


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass(frozen=True, slots=True)
class Worker:
    """A member of staff made for one test."""

    email: str
    person_id: int
    team_id: int
    wallet_id: int | None


@dataclass(frozen=True, slots=True)
class Case:
    """A family opened for one test, with its open needs."""

    family_id: int
    need_ids: list[int]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A signed-in client's person and the headers its cookie-authenticated changes need."""

    person_id: int
    wallet_id: int | None
    headers: dict[str, str]

    def with_key(self, key: str | None = None) -> dict[str, str]:
        """The headers plus an Idempotency-Key (a fresh one unless given)."""
        return {**self.headers, "idempotency-key": key or uuid.uuid4().hex}


class County:
    """The seeded county's database, for arranging and checking what the API cannot show."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on leaving the block (rolled back on error)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as db, db.begin():
            yield db

    async def person_id(self, name: str) -> int:
        """The id of a demo account such as ``manager.exeter``."""
        async with self.session() as db:
            return int((await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one())

    async def bearer(self, who: Worker | str | int) -> SignedIn:
        """Headers that sign requests in as ``who`` with a new API token (no password hashing)."""
        person_id = (
            who.person_id if isinstance(who, Worker) else await self.person_id(who) if isinstance(who, str) else who
        )
        async with self.session() as db:
            _, secret = await create_token(db, person_id=person_id, name="test", now=now_utc())
            wallet_id = (await db.execute(select(Wallet.id).where(Wallet.person_id == person_id))).scalar_one_or_none()
        return SignedIn(person_id=person_id, wallet_id=wallet_id, headers={"authorization": f"Bearer {secret}"})

    async def principal(self, person_id: int) -> Principal:
        async with self.session() as db:
            return await load_principal(db, person_id=person_id)

    async def new_key_worker(self, *, team_id: int = 1, wallet_pence: int = 50_000) -> Worker:
        """A key worker in ``team_id`` with a wallet holding ``wallet_pence`` this month."""
        now = now_utc()
        tag = uuid.uuid4().hex[:10]
        async with self.session() as db:
            person = await organisation.create_person(
                db,
                actor=None,
                email=f"kw.{tag}@test.tide.invalid",
                display_name=f"Key Worker {tag}",
                password=PASSWORD,
                password_hash=password_hash(),
                now=now,
                work_mobile="+447700900123",
            )
            await organisation.grant_role(
                db, actor=None, person_id=person.id, role="key_worker", team_id=team_id, now=now
            )
            wallet = await budgets.open_wallet(db, actor=None, person_id=person.id, team_id=team_id, now=now)
            if wallet_pence:
                await _fund_wallet(db, wallet=wallet, amount=wallet_pence, tag=tag, now=now)
        return Worker(email=person.email, person_id=person.id, team_id=team_id, wallet_id=wallet.id)

    async def new_person(self, role: str, *, team_id: int | None = None) -> int:
        """A member of staff holding ``role`` (set up as the system, as the demo is)."""
        now = now_utc()
        tag = uuid.uuid4().hex[:10]
        async with self.session() as db:
            person = await organisation.create_person(
                db, actor=None, email=f"{role}.{tag}@test.tide.invalid", display_name=f"{role} {tag}",
                password=PASSWORD, password_hash=password_hash(), now=now,
            )  # fmt: skip
            await organisation.grant_role(db, actor=None, person_id=person.id, role=role, team_id=team_id, now=now)
        return int(person.id)

    async def open_family(
        self, worker: Worker, *, needs: Sequence[str] = ("HOU-COND",), opened_on: date | None = None
    ) -> Case:
        """A family led by ``worker`` with one open need per code."""
        now = now_utc()
        async with self.session() as db:
            who = await load_principal(db, person_id=worker.person_id)
            family = await families.open_family(
                db,
                who=who,
                team_id=worker.team_id,
                lead_worker_id=worker.person_id,
                locality="Exeter",
                age_bands=["5-10"],
                opened_on=opened_on or local_date(now),
                now=now,
            )
            need_ids = []
            for code in needs:
                need = await families.add_need(
                    db,
                    who=who,
                    family_id=family.id,
                    code=code,
                    whose="household",
                    identified_on=local_date(now),
                    evidence_source="practitioner",
                    baseline_score=3,
                    now=now,
                )
                need_ids.append(need.id)
        return Case(family_id=family.id, need_ids=need_ids)

    async def add_worker(self, case: Case, worker: Worker, *, manager: str = "manager.exeter") -> None:
        """The team's manager adds ``worker`` to the family."""
        manager_id = await self.person_id(manager)
        async with self.session() as db:
            who = await load_principal(db, person_id=manager_id)
            await families.add_worker(db, who=who, family_id=case.family_id, person_id=worker.person_id, now=now_utc())

    async def available(self, wallet_id: int | None) -> int:
        """What the wallet has left to spend, from the ledger."""
        async with self.session() as db:
            wallet = await db.get(Wallet, wallet_id)
            assert wallet is not None
            return (await ledger.balance(db, account_id=wallet.account_id)).available

    async def purchase_count(self, **where: Any) -> int:
        """How many purchases match ``where`` (column=value)."""
        async with self.session() as db:
            statement = select(func.count()).select_from(Purchase)
            for column, value in where.items():
                statement = statement.where(getattr(Purchase, column) == value)
            return int((await db.execute(statement)).scalar_one())


async def _fund_wallet(db: AsyncSession, *, wallet: Wallet, amount: int, tag: str, now: datetime) -> None:
    """New grant money into the pot, then pot → team → wallet, as finance (a grant over the
    second-person threshold is set-up money, put in as the system, as the demo's is)."""
    source = (await db.execute(select(FundingSource).where(FundingSource.code == "prevention"))).scalar_one()
    finance = await load_principal(
        db, person_id=(await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
    )
    funded = await budgets.fund_pot(
        db,
        actor=finance if amount <= DEFAULT_FUNDING_SECOND_PERSON_ABOVE else None,
        funding_source_id=source.id,
        transfer_id=f"test:{tag}:grant",
        amount=amount,
        reason="t",
        now=now,
    )
    assert funded.accepted
    for level, wallet_id in (("team", None), ("wallet", wallet.id)):
        result = await budgets.allocate(
            db,
            actor=finance,
            transfer_id=f"test:{tag}:{level}",
            funding_source_id=source.id,
            team_id=wallet.team_id,
            wallet_id=wallet_id,
            amount=amount,
            month=None,
            reason="test budget",
            now=now,
        )
        assert result.declined is None


async def sign_in(client: AsyncTestClient[Any], address: str, password: str = PASSWORD) -> SignedIn:
    """Sign ``client`` in by email (a demo name such as ``finance`` is expanded to its email)."""
    address = address if "@" in address else email(address)
    response = await client.post("/api/v1/auth/sign-in", json={"email": address, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return SignedIn(
        person_id=body["person"]["id"],
        wallet_id=body["person"]["wallet_id"],
        headers={"x-csrf-token": body["csrf_token"]},
    )


def purchase_body(case: Case, amount: int = 4_250, **changes: Any) -> dict[str, Any]:
    """A purchase request for the case's first need (school shoes, by card, unless changed)."""
    body: dict[str, Any] = {
        "family_id": case.family_id,
        "need_ids": case.need_ids[:1],
        "category": "CLOTH",
        "description": "School shoes",
        "supplier": "Clarks",
        "amount_pence": amount,
        "payment_method": "card",
    }
    body.update(changes)
    return body
