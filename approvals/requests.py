"""Approval requests: raise, decide, ask and answer, cancel; the manager's inbox.

A request is raised by the spend policy's "needs approval" (``raise_for_purchase``) or by a
key worker ahead of time (``raise_request``). Deciding locks the request's row; a decided
request is final (and the database refuses to change it). Approval above the council's
threshold takes two people: the first approval parks the request as ``awaiting_second``;
another manager of the team, or finance, gives the second. The final approval grants one
allowance, in the same transaction, so the worker's retry at the till is allowed the moment
the manager's tap commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.errors import (
    ApprovalAlreadyDecided,
    CeilingAboveRequest,
    NotAnApprover,
    NotTheRequester,
    ReasonRequired,
    SecondApproverRequired,
    SelfApprovalRefused,
)
from approvals.notifications import notify
from cards.models import CardAuthorization
from ledger.money import pounds_display
from wallet import allowances, audit, purchases
from wallet.access import Principal, load_principal
from wallet.approval_models import FINAL_STATUSES, ApprovalCover, ApprovalRequest, Deputy
from wallet.clock import local_date
from wallet.errors import FamilyClosed, NeedNotOpen, NotFound, NoWallet, UnknownCode
from wallet.families import get_family
from wallet.models import FamilyWorker, Need, Purchase, PurchaseNeed, RoleGrant, Wallet
from wallet.policy import ApprovalRules
from wallet.taxonomy import CATEGORIES

Verdict = Literal["approve", "decline"]
OPEN_STATUSES = ("open", "awaiting_second")


@dataclass(frozen=True, slots=True)
class RequestAsk:
    """A key worker's advance request: "I will need £180 for a cooker for family F, need HOU-COND"."""

    family_id: int
    need_ids: Sequence[int]
    category: str
    amount: int
    reason: str


async def raise_request(
    db: AsyncSession, *, who: Principal, ask: RequestAsk, rules: ApprovalRules, now: datetime
) -> ApprovalRequest:
    """Ask in advance, before going to the shop."""
    if ask.category not in CATEGORIES:
        raise UnknownCode(f"unknown purchase category {ask.category!r}")
    family = await get_family(db, who=who, family_id=ask.family_id)  # unseen: not found
    if who.wallet_id is None or not who.has("key_worker"):
        raise NoWallet("only a key worker with a wallet asks for approval to spend")
    if await db.get(FamilyWorker, (family.id, who.person_id)) is None:
        raise NotFound(f"no family {ask.family_id}")
    if family.status != "open":
        raise FamilyClosed("the case is closed; it takes no new purchases")
    if not ask.need_ids:
        raise NeedNotOpen("say which of the family's open needs this is for")
    needs = (await db.execute(select(Need).where(Need.id.in_(list(ask.need_ids))))).scalars().all()
    if len(needs) != len(set(ask.need_ids)) or any(n.family_id != family.id or n.status != "open" for n in needs):
        raise NeedNotOpen("every need must be one of this family's open needs")
    wallet = await db.get(Wallet, who.wallet_id)
    if wallet is None:
        raise NoWallet("only a key worker with a wallet asks for approval to spend")
    return await _open(
        db,
        who=who,
        wallet=wallet,
        family_id=family.id,
        need_ids=sorted(set(ask.need_ids)),
        category=ask.category,
        amount=ask.amount,
        reason=ask.reason,
        origin="advance",
        purchase_id=None,
        rules=rules,
        now=now,
    )


async def raise_for_purchase(
    db: AsyncSession, *, who: Principal, purchase: Purchase, reason: str, rules: ApprovalRules, now: datetime
) -> ApprovalRequest:
    """The policy said "needs approval": ask the worker's managers, with the purchase's details."""
    wallet = await db.get(Wallet, purchase.wallet_id)
    if wallet is None:
        raise NoWallet(f"purchase {purchase.id} has no wallet")
    need_ids = (await db.execute(select(PurchaseNeed.need_id).where(PurchaseNeed.purchase_id == purchase.id))).scalars()
    return await _open(
        db,
        who=who,
        wallet=wallet,
        family_id=purchase.family_id,
        need_ids=sorted(need_ids),
        category=purchase.category,
        amount=purchase.amount,
        reason=reason,
        origin="card" if purchase.payment_method == "card" and purchase.family_id is None else "policy",
        purchase_id=purchase.id,
        rules=rules,
        now=now,
    )


async def _open(
    db: AsyncSession,
    *,
    who: Principal,
    wallet: Wallet,
    family_id: int | None,
    need_ids: list[int],
    category: str,
    amount: int,
    reason: str,
    origin: str,
    purchase_id: int | None,
    rules: ApprovalRules,
    now: datetime,
) -> ApprovalRequest:
    request = ApprovalRequest(
        requester_id=who.person_id,
        wallet_id=wallet.id,
        team_id=wallet.team_id,
        family_id=family_id,
        need_ids=need_ids,
        category=category,
        amount=amount,
        reason=reason,
        origin=origin,
        purchase_id=purchase_id,
        status="open",
        needs_second=amount > rules.second_approver_above,
        created_at=now,
        updated_at=now,
    )
    db.add(request)
    await db.flush()
    await audit.record(
        db, actor=who, action="approval.raised", subject_type="approval", subject_id=request.id, now=now,
        details={"amount": amount, "category": category, "origin": origin, "purchase_id": purchase_id},
    )  # fmt: skip
    label = CATEGORIES[category].label if category in CATEGORIES else category
    await notify(
        db,
        recipient_ids=await cover.first_approvers(db, request=request, now=now),
        kind="approval.raised",
        subject=f"Approval needed: {pounds_display(amount)} for {label}",
        body=f"{who.display_name} asks to spend up to {pounds_display(amount)} on {label}.",
        free_text=f"Reason: {reason}",
        link=f"/approvals/{request.id}",
        now=now,
    )
    return request


async def visible_requests(db: AsyncSession, *, who: Principal, now: datetime) -> ColumnElement[bool]:
    """A filter on ``ApprovalRequest`` for what ``who`` may see: their own, their teams', the
    teams they cover today as deputy or fallback; finance, auditors and admins see all."""
    if who.has("finance", "auditor", "admin"):
        return true()
    clauses: list[ColumnElement[bool]] = [ApprovalRequest.requester_id == who.person_id]
    if who.managed_team_ids:
        clauses.append(ApprovalRequest.team_id.in_(who.managed_team_ids))
    covered = await covered_team_ids(db, who=who, now=now)
    if covered:
        clauses.append(ApprovalRequest.team_id.in_(covered))
    return or_(*clauses) if clauses else false()


async def covered_team_ids(db: AsyncSession, *, who: Principal, now: datetime) -> set[int]:
    today = local_date(now)
    deputising_for = select(Deputy.manager_id).where(
        Deputy.deputy_id == who.person_id, Deputy.starts_on <= today, Deputy.ends_on >= today
    )
    teams = set(
        (
            await db.execute(
                select(RoleGrant.team_id).where(
                    RoleGrant.role == "team_manager", RoleGrant.person_id.in_(deputising_for)
                )
            )
        ).scalars()
    )
    teams |= set(
        (
            await db.execute(select(ApprovalCover.team_id).where(ApprovalCover.fallback_approver_id == who.person_id))
        ).scalars()
    )
    return {t for t in teams if t is not None}


async def get_request(
    db: AsyncSession, *, who: Principal, request_id: int, now: datetime, for_update: bool = False
) -> ApprovalRequest:
    statement = select(ApprovalRequest).where(
        ApprovalRequest.id == request_id, await visible_requests(db, who=who, now=now)
    )
    if for_update:
        statement = statement.with_for_update()
    request = (await db.execute(statement)).scalar_one_or_none()
    if request is None:
        raise NotFound(f"no approval request {request_id}")
    return request


def refuse_own(who: Principal, request: ApprovalRequest) -> None:
    """Nobody decides, or questions as an approver, their own request or their own wallet's."""
    if request.requester_id == who.person_id:
        raise SelfApprovalRefused("nobody approves their own request")
    if who.wallet_id is not None and request.wallet_id == who.wallet_id:
        raise SelfApprovalRefused("a manager cannot approve spending from their own wallet")


async def decide(
    db: AsyncSession,
    *,
    who: Principal,
    request_id: int,
    verdict: Verdict,
    ceiling: int | None,
    reason: str | None,
    rules: ApprovalRules,
    now: datetime,
) -> ApprovalRequest:
    """Approve (perhaps for less) or decline. Final, except a first approval above the threshold."""
    request = await get_request(db, who=who, request_id=request_id, now=now, for_update=True)
    if request.status in FINAL_STATUSES:
        raise ApprovalAlreadyDecided(f"the request was already {request.status}")
    refuse_own(who, request)
    limit = await _limit_for(db, who=who, request=request, now=now)
    if verdict == "decline":
        if not reason:
            raise ReasonRequired("say why the request is declined")
        return await _finish(db, who=who, request=request, status="declined", ceiling=None, reason=reason, now=now)
    ceiling = limit if ceiling is None else ceiling
    if ceiling > limit:
        raise CeilingAboveRequest(f"the approval cannot be for more than {pounds_display(limit)}")
    if request.status == "open" and ceiling > rules.second_approver_above:
        return await _park_for_second(db, who=who, request=request, ceiling=ceiling, rules=rules, now=now)
    allowance = await allowances.grant(
        db, worker_id=request.requester_id, wallet_id=request.wallet_id, family_id=request.family_id,
        need_ids=request.need_ids, category=request.category, ceiling=ceiling,
        expires_at=now + timedelta(hours=rules.allowance_hours), now=now,
    )  # fmt: skip
    request.allowance_id = allowance.id
    return await _finish(db, who=who, request=request, status="approved", ceiling=ceiling, reason=reason, now=now)


async def _limit_for(db: AsyncSession, *, who: Principal, request: ApprovalRequest, now: datetime) -> int:
    """The most ``who`` may approve on the request now: all of it for a first decision (as a
    manager, deputy or fallback), the first approver's ceiling for a second one by someone else."""
    if request.status == "open":
        await cover.capacity_of(db, who=who, request=request, now=now)
        return request.amount
    if who.person_id == request.first_approver_id:
        raise SecondApproverRequired("the second approval must come from someone else")
    if who.person_id not in await cover.second_approvers(db, request=request):
        raise NotAnApprover("the second approval comes from another manager of the team, or finance")
    return request.first_ceiling or request.amount


async def _park_for_second(
    db: AsyncSession, *, who: Principal, request: ApprovalRequest, ceiling: int, rules: ApprovalRules, now: datetime
) -> ApprovalRequest:
    """A first approval above the threshold: the request waits for a second person, who is told."""
    request.status = "awaiting_second"
    request.first_approver_id, request.first_ceiling, request.first_approved_at = who.person_id, ceiling, now
    request.updated_at = now
    await db.flush()
    await audit.record(
        db, actor=who, action="approval.first_approved", subject_type="approval", subject_id=request.id,
        now=now, details={"ceiling": ceiling},
    )  # fmt: skip
    await notify(
        db,
        recipient_ids=await cover.second_approvers(db, request=request),
        kind="approval.second_needed",
        subject=f"Second approval needed: {pounds_display(ceiling)}",
        body=f"{who.display_name} approved up to {pounds_display(ceiling)}; "
        f"above {pounds_display(rules.second_approver_above)} a second person must approve too.",
        link=f"/approvals/{request.id}",
        now=now,
    )
    return request


async def _finish(
    db: AsyncSession,
    *,
    who: Principal,
    request: ApprovalRequest,
    status: str,
    ceiling: int | None,
    reason: str | None,
    now: datetime,
) -> ApprovalRequest:
    request.status, request.approved_ceiling = status, ceiling
    # A withdrawn request has no decider: the worker cancelled it (and nobody decides their own).
    request.decided_by = None if status == "cancelled" else who.person_id
    request.decided_at, request.decision_reason = now, reason
    request.updated_at = now
    await db.flush()
    if request.purchase_id is not None and status != "approved":
        await purchases.settle_parked(
            db,
            purchase_id=request.purchase_id,
            status="declined" if status == "declined" else "cancelled",
            reason=f"approval_{status}",
            now=now,
        )
    await audit.record(
        db, actor=who, action=f"approval.{status}", subject_type="approval", subject_id=request.id, now=now,
        details={"ceiling": ceiling, "reason": reason, "allowance_id": request.allowance_id},
    )  # fmt: skip
    if status == "approved" and ceiling is not None:
        subject = f"Approved: up to {pounds_display(ceiling)}"
        body = f"{who.display_name} approved up to {pounds_display(ceiling)}. Try the purchase again now."
    elif status == "declined":
        subject, body = "Not approved", f"{who.display_name} declined the request."
    else:
        return request
    await notify(
        db, recipient_ids=[request.requester_id], kind=f"approval.{status}", subject=subject, body=body,
        free_text=f"Why: {reason}" if status == "declined" and reason else None,
        link=f"/approvals/{request.id}", now=now,
    )  # fmt: skip
    return request


async def cancel(db: AsyncSession, *, who: Principal, request_id: int, now: datetime) -> ApprovalRequest:
    """The worker withdraws their request (a parked purchase is cancelled with it)."""
    request = await get_request(db, who=who, request_id=request_id, now=now, for_update=True)
    if request.requester_id != who.person_id:
        raise NotTheRequester("only the worker who asked cancels the request")
    if request.status in FINAL_STATUSES:
        raise ApprovalAlreadyDecided(f"the request was already {request.status}")
    return await _finish(db, who=who, request=request, status="cancelled", ceiling=None, reason=None, now=now)


#: A worker retrying at the till is not asking again: one open card request covers them all.
CARD_REQUEST_WINDOW = timedelta(minutes=30)


async def raise_for_card_decline(
    db: AsyncSession, *, authorization_stripe_id: str, rules: ApprovalRules, now: datetime
) -> ApprovalRequest | None:
    """A card payment the policy sent for approval was declined at the till: ask the worker's
    managers at once, so that their yes lets the retry through. One open request per worker,
    category and amount band at a time (the worker may try the card several times)."""
    found = (
        await db.execute(
            select(Purchase)
            .join(CardAuthorization, CardAuthorization.purchase_id == Purchase.id)
            .where(CardAuthorization.stripe_id == authorization_stripe_id)
        )
    ).scalar_one_or_none()
    if found is None or found.policy_decision != "needs_approval" or found.status != "declined":
        return None
    already = await db.execute(
        select(ApprovalRequest.id).where(
            ApprovalRequest.requester_id == found.worker_id,
            ApprovalRequest.category == found.category,
            ApprovalRequest.status.in_(OPEN_STATUSES),
            ApprovalRequest.amount >= found.amount,
            ApprovalRequest.created_at >= now - CARD_REQUEST_WINDOW,
        )
    )
    if already.first() is not None:
        return None
    who = await load_principal(db, person_id=found.worker_id)
    reason = f"Card payment at {found.supplier} declined at the till: it needs a manager's approval"
    return await raise_for_purchase(db, who=who, purchase=found, reason=reason, rules=rules, now=now)
