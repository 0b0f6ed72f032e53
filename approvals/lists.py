"""The lists of approval requests and allowances people see, and who stands behind a request.

Who may see a request is :func:`approvals.requests.visible_requests` (the worker who asked,
their team's managers and deputies covering them, finance, auditors); who may see an
allowance follows the wallet it is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.requests import covered_team_ids, visible_requests
from wallet.access import Principal
from wallet.approval_models import Allowance, ApprovalCover, ApprovalRequest
from wallet.listing import DEFAULT_LIMIT, MAX_LIMIT, Listing, fetch_page
from wallet.models import Person, Wallet

Box = Literal["all", "mine"]


@dataclass(frozen=True, slots=True)
class Parties:
    """Who asked (their display name) and the allowance a yes became, if any."""

    requester_name: str
    allowance: Allowance | None


async def parties_of(db: AsyncSession, *, request: ApprovalRequest) -> Parties:
    requester = await db.get(Person, request.requester_id)
    allowance = await db.get(Allowance, request.allowance_id) if request.allowance_id else None
    return Parties(requester_name=requester.display_name if requester else "", allowance=allowance)


async def list_requests(
    db: AsyncSession,
    *,
    who: Principal,
    now: datetime,
    box: Box = "all",
    status: str | None = None,
    team_id: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[ApprovalRequest]:
    """Requests ``who`` may see, newest first (``box="mine"``: only their own)."""
    statement = select(ApprovalRequest).where(await visible_requests(db, who=who, now=now))
    if box == "mine":
        statement = statement.where(ApprovalRequest.requester_id == who.person_id)
    if status is not None:
        statement = statement.where(ApprovalRequest.status == status)
    if team_id is not None:
        statement = statement.where(ApprovalRequest.team_id == team_id)
    return await fetch_page(db, statement, ApprovalRequest.id, cursor=cursor, limit=limit)


async def list_allowances(db: AsyncSession, *, who: Principal, usable_at: datetime | None = None) -> list[Allowance]:
    """A key worker's own allowances; managers' teams'; all for finance, auditors and admins.
    Newest first, at most :data:`MAX_LIMIT`; ``usable_at``: only those unused and unexpired then."""
    statement = select(Allowance).order_by(Allowance.id.desc()).limit(MAX_LIMIT)
    if not who.has("finance", "auditor", "admin"):
        team_wallets = select(Wallet.id).where(Wallet.team_id.in_(who.managed_team_ids))
        statement = statement.where((Allowance.worker_id == who.person_id) | Allowance.wallet_id.in_(team_wallets))
    if usable_at is not None:
        statement = statement.where(Allowance.consumed_at.is_(None), Allowance.expires_at > usable_at)
    return list((await db.execute(statement)).scalars())


async def inbox_for_manager(db: AsyncSession, *, who: Principal, now: datetime) -> list[ApprovalRequest]:
    """What ``who`` can decide now, oldest first: first decisions for the teams they manage or
    cover, and second approvals they may give."""
    covered = await covered_team_ids(db, who=who, now=now)
    fallback_teams = set(
        (
            await db.execute(select(ApprovalCover.team_id).where(ApprovalCover.fallback_approver_id == who.person_id))
        ).scalars()
    )
    deputy_teams = covered - fallback_teams
    first = or_(
        ApprovalRequest.team_id.in_(who.managed_team_ids | deputy_teams),
        and_(ApprovalRequest.team_id.in_(fallback_teams), ApprovalRequest.escalated_at.is_not(None)),
    )
    second_teams = true() if who.has("finance") else ApprovalRequest.team_id.in_(who.managed_team_ids)
    statement = (
        select(ApprovalRequest)
        .where(
            ApprovalRequest.requester_id != who.person_id,
            or_(
                and_(ApprovalRequest.status == "open", first),
                and_(
                    ApprovalRequest.status == "awaiting_second",
                    ApprovalRequest.first_approver_id != who.person_id,
                    second_teams,
                ),
            ),
        )
        .order_by(ApprovalRequest.created_at, ApprovalRequest.id)
    )
    if who.wallet_id is not None:
        statement = statement.where(ApprovalRequest.wallet_id != who.wallet_id)
    return list((await db.execute(statement)).scalars())
