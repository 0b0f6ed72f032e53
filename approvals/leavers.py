"""Joiners and leavers: deactivating a person, and bringing them back.

Deactivation is one use case, whoever asks for it (the identity provider through SCIM, an
admin through the API or the admin pages). In one transaction it:

- marks the person inactive (they cannot sign in: ``wallet.access.load_principal`` refuses
  an inactive person, and single sign-on and passwords both end there);
- ends every browser session and revokes every API token (they answer 401);
- suspends their wallet, so the till declines and the ``cards_follow_wallets`` job freezes
  their cards at Stripe on its next run (Stripe is never called inside this transaction);
- returns the wallet's unspent budget to the team (a ledger transfer, recorded as a
  ``return`` allocation, audited);
- cancels the requests they raised that are still open, and hands the requests waiting on
  them to the team's fallback approver (when the team has no other active manager, each is
  escalated at once), and gives the deputyships they held to that fallback approver.

Nothing is deleted: their purchases, decisions and audit entries stay, attributed to them.
Reactivation lets them sign in again and lifts the leaver's suspension of their wallet (its
cards come back with the next job run); the budget returned stays with the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.escalation import escalate
from approvals.requests import OPEN_STATUSES
from wallet import audit, purchases
from wallet.access import Principal
from wallet.approval_models import ApprovalRequest, Deputy
from wallet.clock import local_date
from wallet.errors import NotFound, NothingToChange, OwnAdminRoleKept
from wallet.identity import revoke_all_tokens, sign_out_everywhere
from wallet.models import Person, RoleGrant, Wallet
from wallet.returns import LEAVER_REASON, return_leavers_budget


@dataclass(frozen=True, slots=True)
class Deactivated:
    """What deactivating a person did."""

    person_id: int
    sessions_ended: int
    tokens_revoked: int
    wallet_suspended: bool
    returned: int  # pence back with the team
    requests_cancelled: int
    requests_handed_over: int
    deputyships_handed_over: int


async def _person_for_change(db: AsyncSession, *, actor: Principal | None, person_id: int) -> Person:
    if actor is not None:
        actor.require("admin")
        if actor.person_id == person_id:
            raise OwnAdminRoleKept("nobody deactivates or reactivates themselves; another admin must")
    person = await db.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


async def deactivate_person(
    db: AsyncSession, *, actor: Principal | None, person_id: int, now: datetime, removed: bool = False
) -> Deactivated:
    """Deactivate a leaver (see the module's docstring). ``actor=None`` is the identity
    provider (SCIM); ``removed``: it deleted them (they are then no longer provisioned)."""
    person = await _person_for_change(db, actor=actor, person_id=person_id)
    if removed and person.removed_at is None:
        person.removed_at = now
    if not person.active:
        if removed:
            await db.flush()
            return Deactivated(person.id, 0, 0, False, 0, 0, 0, 0)
        raise NothingToChange("the person is already deactivated")
    person.active, person.deactivated_at = False, now
    sessions = await sign_out_everywhere(db, person_id=person.id, now=now)
    tokens = await revoke_all_tokens(db, person_id=person.id, now=now)
    suspended, returned = await _empty_wallet(db, actor=actor, person=person, now=now)
    cancelled = await _cancel_own_requests(db, person_id=person.id, now=now)
    handed = await _hand_over_requests(db, person_id=person.id, now=now)
    deputyships = await _hand_over_deputyships(db, person_id=person.id, now=now)
    result = Deactivated(person.id, sessions, tokens, suspended, returned, cancelled, handed, deputyships)
    await audit.record(
        db, actor=actor, action="person.deactivated", subject_type="person", subject_id=person.id, now=now,
        details={
            "by": "admin" if actor else "identity provider", "removed": removed, "sessions_ended": sessions,
            "tokens_revoked": tokens, "returned": returned, "requests_cancelled": cancelled,
            "requests_handed_over": handed, "deputyships_handed_over": deputyships,
        },
    )  # fmt: skip
    await db.flush()
    return result


async def reactivate_person(db: AsyncSession, *, actor: Principal | None, person_id: int, now: datetime) -> Person:
    """Let a deactivated person sign in again; their wallet's leaver suspension is lifted
    (its cards come back with the next ``cards_follow_wallets`` run)."""
    person = await _person_for_change(db, actor=actor, person_id=person_id)
    if person.active:
        raise NothingToChange("the person is already active")
    person.active, person.deactivated_at, person.removed_at = True, None, None
    wallet = (await db.execute(select(Wallet).where(Wallet.person_id == person.id))).scalar_one_or_none()
    if wallet is not None and wallet.status == "suspended" and wallet.suspended_reason == LEAVER_REASON:
        wallet.status, wallet.suspended_reason = "active", None
    await audit.record(
        db, actor=actor, action="person.reactivated", subject_type="person", subject_id=person.id, now=now,
        details={"by": "admin" if actor else "identity provider"},
    )  # fmt: skip
    await db.flush()
    return person


async def _empty_wallet(
    db: AsyncSession, *, actor: Principal | None, person: Person, now: datetime
) -> tuple[bool, int]:
    wallet = (await db.execute(select(Wallet).where(Wallet.person_id == person.id))).scalar_one_or_none()
    if wallet is None:
        return False, 0
    if wallet.status == "active":
        wallet.status, wallet.suspended_reason = "suspended", LEAVER_REASON
        await audit.record(
            db, actor=actor, action="wallet.suspended", subject_type="wallet", subject_id=wallet.id, now=now,
            details={"reason": "leaver"},
        )  # fmt: skip
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    amount = await return_leavers_budget(
        db, actor=actor, wallet=wallet, transfer_id=f"leaver:{person.id}:{stamp}", now=now
    )
    return True, amount


async def _cancel_own_requests(db: AsyncSession, *, person_id: int, now: datetime) -> int:
    """The leaver's own open requests are withdrawn (a parked purchase is cancelled with each)."""
    mine = (
        await db.execute(
            select(ApprovalRequest).where(
                ApprovalRequest.requester_id == person_id, ApprovalRequest.status.in_(OPEN_STATUSES)
            )
        )
    ).scalars()
    count = 0
    for request in mine:
        request.status, request.decided_by, request.decided_at = "cancelled", None, now
        request.decision_reason, request.updated_at = LEAVER_REASON, now
        await db.flush()
        if request.purchase_id is not None:
            await purchases.settle_parked(
                db, purchase_id=request.purchase_id, status="cancelled", reason="approval_cancelled", now=now
            )
        await audit.record(
            db, actor=None, action="approval.cancelled", subject_type="approval", subject_id=request.id, now=now,
            details={"reason": "leaver"},
        )  # fmt: skip
        count += 1
    return count


async def _hand_over_requests(db: AsyncSession, *, person_id: int, now: datetime) -> int:
    """Requests of the teams the leaver managed, now with no active manager, go to the fallback."""
    teams = (
        await db.execute(
            select(RoleGrant.team_id).where(RoleGrant.person_id == person_id, RoleGrant.role == "team_manager")
        )
    ).scalars()
    orphaned = [team for team in teams if team is not None and not await cover.managers_of(db, team_id=team)]
    if not orphaned:
        return 0
    waiting = (
        await db.execute(
            select(ApprovalRequest).where(
                ApprovalRequest.team_id.in_(orphaned),
                ApprovalRequest.status.in_(OPEN_STATUSES),
                ApprovalRequest.escalated_at.is_(None),
            )
        )
    ).scalars()
    count = 0
    for request in waiting:
        await escalate(
            db, request=request, now=now, why="from a manager who has left",
            body="The team's manager has left Tide; you are the team's fallback approver.",
        )  # fmt: skip
        count += 1
    return count


async def _hand_over_deputyships(db: AsyncSession, *, person_id: int, now: datetime) -> int:
    """Current and future deputyships the leaver held go to the fallback of the covered
    manager's team (when there is one who is not the manager themselves)."""
    held = (
        await db.execute(select(Deputy).where(Deputy.deputy_id == person_id, Deputy.ends_on >= local_date(now)))
    ).scalars()
    count = 0
    for deputy in held:
        team_id = (
            await db.execute(
                select(RoleGrant.team_id)
                .where(RoleGrant.person_id == deputy.manager_id, RoleGrant.role == "team_manager")
                .order_by(RoleGrant.team_id)
                .limit(1)
            )
        ).scalar_one_or_none()
        fallback = await cover.fallback_of(db, team_id=team_id) if team_id is not None else None
        if fallback is None or fallback in (deputy.manager_id, person_id):
            continue
        deputy.deputy_id = fallback
        await audit.record(
            db, actor=None, action="approvals.deputy_handed_over", subject_type="deputy", subject_id=deputy.id,
            now=now, details={"from": person_id, "to": fallback},
        )  # fmt: skip
        count += 1
    return count
