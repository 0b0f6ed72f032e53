"""After-the-fact review: a settled purchase without a receipt is reviewed, the worker reminded on
the set days, the wallet suspended at the deadline and reactivated when a manager clears it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.jobs import JobContext, review_receipts
from approvals import reviews
from tests.approvals.support import at, scene
from tests.wallet.conftest import ClientFactory
from tests.wallet.support import PNG, County, SignedIn
from wallet.approval_models import Notification, ReceiptReview
from wallet.clock import now_utc
from wallet.models import Purchase, Wallet
from wallet.policy import ApprovalRules

pytestmark = pytest.mark.dates


async def settled(county: County, client: AsyncTestClient[Any], me: SignedIn, family_id: int, need_id: int) -> int:
    """A £42.50 purchase (a receipt is required above £10), settled by finance: its id."""
    body = {
        "family_id": family_id, "need_ids": [need_id], "category": "CLOTH", "description": "School shoes",
        "supplier": "Clarks", "amount_pence": 4_250, "payment_method": "card",
    }  # fmt: skip
    made = await client.post("/api/v1/purchases", json=body, headers=me.with_key())
    assert made.status_code == 201, made.text
    purchase_id = int(made.json()["purchase"]["id"])
    finance = await county.bearer("finance")
    captured = await client.post(
        f"/api/v1/purchases/{purchase_id}/capture", json={"amount_pence": 4_250}, headers=finance.with_key()
    )
    assert captured.status_code == 200, captured.text
    return purchase_id


def sweep_at(county: County, moment: datetime) -> JobContext:
    return JobContext(
        sessionmaker=async_sessionmaker(county.engine, expire_on_commit=False), clock=at(moment), mailer=None
    )


async def review_of(county: County, purchase_id: int) -> ReceiptReview | None:
    async with county.session() as db:
        found = await db.execute(select(ReceiptReview).where(ReceiptReview.purchase_id == purchase_id))
        return found.scalar_one_or_none()


async def told(county: County, person_id: int, kind: str) -> int:
    async with county.session() as db:
        found = await db.execute(
            select(Notification.id).where(Notification.recipient_id == person_id, Notification.kind == kind)
        )
        return len(found.all())


async def test_a_missing_receipt_is_reminded_then_suspends_the_wallet_until_a_manager_clears_it(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    purchase_id = await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])

    await review_receipts(sweep_at(county, now))
    review = await review_of(county, purchase_id)
    assert review is not None
    assert (review.status, review.reason, review.due_at) == ("open", "missing_receipt", now + timedelta(days=14))
    assert await told(county, s.worker.person_id, "review.opened") == 1

    for day, reminders in ((2, 0), (3, 1), (5, 1), (7, 2), (13, 2)):
        await review_receipts(sweep_at(county, now + timedelta(days=day)))
        assert await told(county, s.worker.person_id, "review.reminder") == reminders, f"day {day}"
    async with county.session() as db:
        assert (await db.get(Wallet, s.worker.wallet_id)).status == "active"  # type: ignore[union-attr]

    await review_receipts(sweep_at(county, now + timedelta(days=14)))
    async with county.session() as db:
        wallet = await db.get(Wallet, s.worker.wallet_id)
        assert wallet is not None
        assert wallet.status == "suspended"
    assert await told(county, s.manager.person_id, "wallet.suspended") >= 1
    later = await new_client(at(now + timedelta(days=14, hours=1)))
    refused = await later.post(
        "/api/v1/purchases",
        json={
            "family_id": s.case.family_id, "need_ids": s.case.need_ids, "category": "CLOTH", "description": "Coat",
            "supplier": "M&S", "amount_pence": 2_000, "payment_method": "card",
        },
        headers=s.me.with_key(),
    )  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "urn:tide:problem:wallet-suspended"

    queue = await later.get("/api/v1/reviews", headers=s.manager.headers)
    assert review.id in [r["id"] for r in queue.json()]
    own = await later.post(f"/api/v1/reviews/{review.id}/clear", json={"note": "mine"}, headers=s.me.with_key())
    assert own.status_code == 403, own.text
    cleared = await later.post(
        f"/api/v1/reviews/{review.id}/clear", json={"note": "Paper receipt seen"}, headers=s.manager.with_key()
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["status"] == "cleared"
    async with county.session() as db:
        assert (await db.get(Wallet, s.worker.wallet_id)).status == "active"  # type: ignore[union-attr]
    again = await later.post(f"/api/v1/reviews/{review.id}/clear", json={"note": "twice"}, headers=s.manager.with_key())
    assert again.status_code == 409, again.text


async def test_a_receipt_that_arrives_before_the_deadline_closes_the_review(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    purchase_id = await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])
    await review_receipts(sweep_at(county, now))

    attached = await client.post(
        f"/api/v1/purchases/{purchase_id}/receipts",
        files={"file": ("r.png", PNG, "image/png")},
        headers=s.me.with_key(),
    )
    assert attached.status_code == 201, attached.text
    await review_receipts(sweep_at(county, now + timedelta(days=1)))
    await review_receipts(sweep_at(county, now + timedelta(days=20)))

    review = await review_of(county, purchase_id)
    assert review is not None
    assert review.status == "resolved"
    async with county.session() as db:
        assert (await db.get(Wallet, s.worker.wallet_id)).status == "active"  # type: ignore[union-attr]


async def test_a_duplicated_receipt_is_reviewed_too(county: County, new_client: ClientFactory) -> None:
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    first = await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])
    second = await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])
    same = PNG + b"same-photo"
    for purchase_id in (first, second):
        attached = await client.post(
            f"/api/v1/purchases/{purchase_id}/receipts",
            files={"file": ("r.png", same, "image/png")},
            headers=s.me.with_key(),
        )
        assert attached.status_code == 201, attached.text

    await review_receipts(sweep_at(county, now))

    assert await review_of(county, first) is None
    review = await review_of(county, second)
    assert review is not None
    assert (review.reason, review.status) == ("duplicate_receipt", "open")


async def test_a_small_purchase_that_needs_no_receipt_is_not_reviewed(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    client = await new_client()
    body = {
        "family_id": s.case.family_id, "need_ids": s.case.need_ids, "category": "TRAVEL", "description": "Bus fare",
        "supplier": "Stagecoach", "amount_pence": 450, "payment_method": "card",
    }  # fmt: skip
    made = await client.post("/api/v1/purchases", json=body, headers=s.me.with_key())
    purchase_id = made.json()["purchase"]["id"]
    finance = await county.bearer("finance")
    await client.post(
        f"/api/v1/purchases/{purchase_id}/capture", json={"amount_pence": 450}, headers=finance.with_key()
    )

    await review_receipts(sweep_at(county, now_utc()))

    assert await review_of(county, purchase_id) is None


OLD = 200


async def _purchases_read(db: AsyncSession) -> tuple[int, int]:
    """Rows of ``purchases`` this transaction has read so far: (by whole-table scans, through indexes)."""
    found = await db.execute(
        text("SELECT seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = 'purchases'")
    )
    seq, fetched = found.one()
    return int(seq or 0), int(fetched or 0)


async def test_the_missing_receipt_sweep_reads_only_the_purchases_settled_since_it_last_looked(
    county: County, new_client: ClientFactory
) -> None:
    if county.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL counts the rows a transaction reads")
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    first = await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])
    async with county.session() as db:  # settled long ago: the sweep opens their reviews, then is done with them
        model = await db.get(Purchase, first)
        assert model is not None
        columns = {c.key: getattr(model, c.key) for c in Purchase.__table__.columns if c.key != "id"}
        db.add_all(
            Purchase(**{**columns, "family_id": None, "hold_transfer_id": None, "capture_transfer_id": None})
            for _ in range(OLD)
        )
    await review_receipts(sweep_at(county, now))
    await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])  # the one settled since

    async with AsyncSession(county.engine, expire_on_commit=False) as db, db.begin():
        # The plan PostgreSQL picks when there are many purchases (it would scan a few whole).
        await db.execute(text("SET LOCAL enable_seqscan = off"))
        before = await _purchases_read(db)
        report = await reviews.sweep(db, rules=ApprovalRules(), now=now + timedelta(minutes=15))
        seq, fetched = (a - b for a, b in zip(await _purchases_read(db), before, strict=True))
        await db.rollback()
    assert report.opened == 1
    assert seq == 0
    assert fetched <= 3  # the new purchase and its review's foreign key checks: none of the old


async def test_the_receipt_sweep_run_twice_opens_each_review_once(county: County, new_client: ClientFactory) -> None:
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    purchase_id = await settled(county, client, s.me, s.case.family_id, s.case.need_ids[0])

    await review_receipts(sweep_at(county, now))
    await review_receipts(sweep_at(county, now))
    async with county.session() as db:
        found = await db.execute(select(ReceiptReview.id).where(ReceiptReview.purchase_id == purchase_id))
        assert len(found.all()) == 1
    assert await told(county, s.worker.person_id, "review.opened") == 1
