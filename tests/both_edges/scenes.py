"""The starting states the cases need, made through the use-case functions (the same on both
copies of the county). Each adds the ids its case acts on to ``ids``."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.stripe_gateway import StripeConfig, StripeGateway
from approvals import buying, conversation, notifications, requests, reviews
from cards import issuing
from reports import close, monthly
from tests import receipt_files
from tests.api.conftest import settings_for
from tests.both_edges.edges import Ids, who
from wallet import families, identity, proposals, purchases, receipts
from wallet.clock import local_date, month_start, now_utc, previous_month
from wallet.demo import DEMO_PASSWORD, email
from wallet.duties import DEFAULT_FUNDING_SECOND_PERSON_ABOVE
from wallet.policies import current_policy
from wallet.proposal_models import Proposal

JPEG = receipt_files.jpeg("a receipt photographed in a shop")
#: Over the demo policy's £100 a purchase needs a manager's approval.
OVER_THE_LIMIT = 15_000


def _ask(ids: Ids, amount: int, description: str = "School shoes") -> purchases.PurchaseAsk:
    return purchases.PurchaseAsk(
        family_id=ids["family"], need_ids=[ids["need"]], category="CLOTH", description=description,
        supplier="Clarks", amount=amount, payment_method="card",
    )  # fmt: skip


async def a_purchase(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.01 has bought school shoes for £24.99: the money is held."""
    worker = await who(db, "kw.exeter.01")
    bought = await buying.buy(db, who=worker, ask=_ask(ids, 2_499), now=now_utc(), ask_manager=False)
    ids["purchase"] = bought.purchase.id


async def a_parked_purchase(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.01's £150 purchase waits for a manager (not yet asked)."""
    worker = await who(db, "kw.exeter.01")
    bought = await buying.buy(db, who=worker, ask=_ask(ids, OVER_THE_LIMIT, "A winter coat"), now=now_utc(),
                              ask_manager=False)  # fmt: skip
    assert bought.purchase.status == "needs_approval", bought.purchase.status
    ids["purchase"] = bought.purchase.id


async def a_parked_purchase_asked_about(db: AsyncSession, ids: Ids) -> None:
    """The parked purchase, and kw.exeter.01 has asked the manager about it."""
    await a_parked_purchase(db, ids)
    worker = await who(db, "kw.exeter.01")
    asked = await buying.ask_manager_about(db, who=worker, purchase_id=ids["purchase"], reason="Winter", now=now_utc())
    ids["request"] = asked.id


async def an_approved_purchase(db: AsyncSession, ids: Ids) -> None:
    """The parked purchase, asked about and approved: an allowance waits to be used."""
    await a_parked_purchase_asked_about(db, ids)
    _, policy = await current_policy(db)
    await requests.decide(
        db, who=await who(db, "manager.exeter"), request_id=ids["request"], verdict="approve", ceiling=None,
        reason=None, rules=policy.approvals, now=now_utc(),
    )  # fmt: skip


async def a_question_to_answer(db: AsyncSession, ids: Ids) -> None:
    """The parked purchase asked about, and the manager has asked kw.exeter.01 a question."""
    await a_parked_purchase_asked_about(db, ids)
    await conversation.ask_question(db, who=await who(db, "manager.exeter"), request_id=ids["request"],
                                    body="Is it for the older child?", now=now_utc())  # fmt: skip


async def a_request_ahead(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.01 has asked the manager ahead for £180 of household essentials."""
    _, policy = await current_policy(db)
    ask = requests.RequestAsk(family_id=ids["family"], need_ids=[ids["need"]], category="HH-ESS", amount=18_000,
                              reason="The family's cooker is broken")  # fmt: skip
    row = await requests.raise_request(db, who=await who(db, "kw.exeter.01"), ask=ask, rules=policy.approvals,
                                       now=now_utc())  # fmt: skip
    ids["request"] = row.id


async def a_closed_family(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.01 has closed the fresh family's case."""
    now = now_utc()
    await families.close_family(db, who=await who(db, "kw.exeter.01"), family_id=ids["family"], reason="outcomes_met",
                                closed_on=local_date(now), now=now)  # fmt: skip


async def a_notification(db: AsyncSession, ids: Ids) -> None:
    """The request ahead, and the manager's unread message about it."""
    await a_request_ahead(db, ids)
    inbox = await notifications.inbox(db, person_id=ids["manager.exeter"], unread_only=True)
    ids["notification"] = inbox[0].id


async def a_duplicate_receipt(db: AsyncSession, ids: Ids) -> None:
    """Two purchases with one receipt between them, and the receipt reviews the sweep opened."""
    worker, now = await who(db, "kw.exeter.01"), now_utc()
    for amount in (1_200, 1_300):
        bought = await buying.buy(db, who=worker, ask=_ask(ids, amount), now=now, ask_manager=False)
        await receipts.attach_receipt(db, who=worker, purchase_id=bought.purchase.id, content=JPEG, now=now)
    _, policy = await current_policy(db)
    await reviews.sweep(db, rules=policy.approvals, now=now)
    queue = await reviews.review_queue(db, who=await who(db, "manager.exeter"))
    ids["review"] = next(r.id for r in queue if r.reason == "duplicate_receipt")


async def an_exception_to_explain(db: AsyncSession, ids: Ids) -> None:
    """This month's first reconciliation exception (the county's card purchases settled
    in the app, with no processor transaction)."""
    now = now_utc()
    month = month_start(local_date(now))
    for candidate in (month, previous_month(month)):
        found = await monthly.reconcile(db, await monthly.period_for(db, month=candidate, now=now))
        if found.exceptions:
            ids["month"], ids["finding"] = f"{candidate:%Y-%m}", found.exceptions[0].key
            return
    raise AssertionError("the county has no reconciliation exception to explain")


async def a_month_to_close(db: AsyncSession, ids: Ids) -> None:
    """Last month, every exception of it explained: finance may close it."""
    now = now_utc()
    month = previous_month(month_start(local_date(now)))
    found = await monthly.reconcile(db, await monthly.period_for(db, month=month, now=now))
    for finding in found.exceptions:
        await close.explain(db, month=month, finding_key=finding.key, explanation="Seen", explained_by=ids["finance"],
                            now=now)  # fmt: skip
    ids["month"] = f"{month:%Y-%m}"


def _gateway() -> StripeGateway:
    """The real gateway, configured as the apps are (the fake Stripe: ``conftest.card_issuer``)."""
    return StripeGateway(StripeConfig.from_settings(settings_for("sqlite+aiosqlite:///unused.db")))


async def a_card(db: AsyncSession, ids: Ids) -> None:
    """The manager has issued kw.exeter.01 a virtual card, active."""
    card = await issuing.issue_card(db, _gateway(), who=await who(db, "manager.exeter"), wallet_id=ids["wallet"],
                                    card_type="virtual", key=uuid.uuid4().hex, now=now_utc())  # fmt: skip
    ids["card"] = card.id


async def a_frozen_card(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.01's card, frozen by them."""
    await a_card(db, ids)
    await issuing.change_card(db, _gateway(), who=await who(db, "kw.exeter.01"), card_id=ids["card"], action="freeze",
                              key=uuid.uuid4().hex, now=now_utc())  # fmt: skip


async def a_funding_proposal(db: AsyncSession, ids: Ids) -> None:
    """Finance has proposed funding the pot with £20,000 (over the second-person threshold)."""
    proposed = await proposals.fund_or_propose(
        db, who=await who(db, "finance"), funding_source_id=ids["source"], transfer_id="both:big-grant",
        amount=2_000_000, reason="The quarter's grant", second_person_above=DEFAULT_FUNDING_SECOND_PERSON_ABOVE,
        now=now_utc(),
    )  # fmt: skip
    assert isinstance(proposed, Proposal), proposed
    ids["proposal"] = proposed.id


async def signed_in_elsewhere(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.02 is still signed in on another device."""
    await identity.sign_in(db, email=email("kw.exeter.02"), password=DEMO_PASSWORD, ip="192.0.2.9", now=now_utc())
