"""Arranging approvals: a worker, a family, a manager, and a request waiting for a decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.testing import AsyncTestClient

from tests.wallet.support import PASSWORD, Case, County, SignedIn, Worker, password_hash
from wallet import organisation
from wallet.clock import now_utc

#: Over the default policy's £100 approval limit, under its £250 ceiling and the £200 second-approver threshold.
NEEDS_APPROVAL = 15_000


@dataclass(frozen=True, slots=True)
class Scene:
    worker: Worker
    me: SignedIn
    case: Case
    manager: SignedIn


async def scene(county: County, *, wallet_pence: int = 50_000) -> Scene:
    """A new key worker in Exeter (team 1) with a funded wallet and a family; Exeter's manager."""
    worker = await county.new_key_worker(wallet_pence=wallet_pence)
    case = await county.open_family(worker)
    return Scene(worker, await county.bearer(worker), case, await county.bearer("manager.exeter"))


def purchase(case: Case, amount: int = NEEDS_APPROVAL, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "family_id": case.family_id,
        "need_ids": case.need_ids[:1],
        "category": "HH-ESS",
        "description": "A bed and mattress",
        "supplier": "Dunelm",
        "amount_pence": amount,
        "payment_method": "card",
    }
    body.update(changes)
    return body


def advance(case: Case, amount: int = NEEDS_APPROVAL, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "family_id": case.family_id,
        "need_ids": case.need_ids[:1],
        "category": "HH-ESS",
        "amount_pence": amount,
        "reason": "The children share one broken bed",
    }
    body.update(changes)
    return body


async def parked(client: AsyncTestClient[Any], s: Scene, amount: int = NEEDS_APPROVAL) -> tuple[int, int]:
    """A purchase the policy sends for approval: (purchase id, approval request id)."""
    made = await client.post("/api/v1/purchases", json=purchase(s.case, amount), headers=s.me.with_key())
    assert made.status_code == 202, made.text
    return int(made.json()["purchase"]["id"]), int(made.json()["approval_request_id"])


async def decide(
    client: AsyncTestClient[Any], who: SignedIn, request_id: int, verdict: str = "approve", **more: Any
) -> Any:
    return await client.post(
        f"/api/v1/approvals/{request_id}/decision", json={"verdict": verdict, **more}, headers=who.with_key()
    )


async def new_manager(county: County, *, team_id: int = 1, with_wallet: bool = False) -> Worker:
    """Another manager of ``team_id`` (optionally also a key worker there, with a funded wallet)."""
    if with_wallet:
        worker = await county.new_key_worker(team_id=team_id)
    else:
        tag = uuid.uuid4().hex[:10]
        async with county.session() as db:
            person = await organisation.create_person(
                db, actor=None, email=f"mgr.{tag}@test.tide.invalid", display_name=f"Manager {tag}",
                password=PASSWORD, password_hash=password_hash(), now=now_utc(),
            )  # fmt: skip
        worker = Worker(email=person.email, person_id=person.id, team_id=team_id, wallet_id=None)
    async with county.session() as db:
        await organisation.grant_role(
            db, actor=None, person_id=worker.person_id, role="team_manager", team_id=team_id, now=now_utc()
        )
    return worker


def at(moment: datetime) -> Any:
    """A clock stopped at ``moment``."""
    return lambda: moment
