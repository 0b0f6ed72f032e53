"""Two-person changes: one person proposes, a different person confirms (or refuses).

What needs a second person, and who may propose and confirm each kind, is
:mod:`wallet.duties`. A proposal is checked when it is made (so a grant that could never be
made is refused at once) and again when it is confirmed, by the very use case that makes the
change, called with the proposal's id. Confirming is one conditional update, so two people
confirming at once make the change once. Every step is in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import audit, budgets, duties, organisation, policies
from wallet.access import Principal
from wallet.errors import NotFound, ProposalAlreadyDecided
from wallet.listing import DEFAULT_LIMIT, Listing, fetch_page
from wallet.models import FundingSource
from wallet.policy import parse_policy
from wallet.proposal_models import Proposal


async def _record(
    db: AsyncSession, *, who: Principal, kind: str, details: dict[str, Any], note: str, now: datetime
) -> Proposal:
    proposal = Proposal(
        kind=kind, status="pending", details=details, note=note[:200], proposed_by=who.person_id, proposed_at=now
    )
    db.add(proposal)
    await db.flush()
    await audit.record(
        db, actor=who, action=f"proposal.made.{kind}", subject_type="proposal", subject_id=proposal.id, now=now,
        details=details if kind != "publish_policy" else {"rules": len(details["document"]["rules"])},
    )  # fmt: skip
    return proposal


async def propose_role(
    db: AsyncSession,
    *,
    who: Principal,
    person_id: int,
    role: str,
    team_id: int | None,
    open_wallet: bool = False,
    now: datetime,
) -> Proposal:
    """Propose granting ``role`` (and, for a key worker, opening their wallet); another admin confirms."""
    team_id = await organisation.check_grant(db, actor=who, person_id=person_id, role=role, team_id=team_id)
    details = {"person_id": person_id, "role": role, "team_id": team_id, "open_wallet": open_wallet}
    return await _record(db, who=who, kind="grant_role", details=details, note=f"grant {role}", now=now)


async def propose_policy(db: AsyncSession, *, who: Principal, document: object, note: str, now: datetime) -> Proposal:
    """Propose a new version of the spend policy (checked now); another admin confirms it."""
    who.require(*duties.PROPOSERS["publish_policy"])
    parsed = parse_policy(document)
    details = {"document": parsed.model_dump(mode="json")}
    return await _record(db, who=who, kind="publish_policy", details=details, note=note, now=now)


async def fund_or_propose(
    db: AsyncSession,
    *,
    who: Principal,
    funding_source_id: int,
    transfer_id: str,
    amount: int,
    reason: str,
    second_person_above: int,
    now: datetime,
) -> ledger.Outcome | Proposal:
    """Fund the pot at once up to the threshold; above it, propose the funding for another to confirm."""
    who.require(*duties.PROPOSERS["fund_pot"])
    if not duties.funding_needs_second_person(amount, second_person_above):
        return await budgets.fund_pot(
            db, actor=who, funding_source_id=funding_source_id, transfer_id=transfer_id, amount=amount,
            reason=reason, now=now, second_person_above=second_person_above,
        )  # fmt: skip
    if await db.get(FundingSource, funding_source_id) is None:
        raise NotFound(f"no funding source {funding_source_id}")
    details = {"funding_source_id": funding_source_id, "transfer_id": transfer_id, "amount": amount}
    return await _record(db, who=who, kind="fund_pot", details=details, note=reason, now=now)


async def confirm(
    db: AsyncSession, *, who: Principal, proposal_id: int, now: datetime, second_person_above: int
) -> Proposal:
    """A different person who may confirm it makes the proposed change take effect."""
    proposal = await _pending(db, who=who, proposal_id=proposal_id)
    await _decide(db, who=who, proposal=proposal, status="confirmed", now=now)
    proposal.outcome = await _apply(db, who=who, proposal=proposal, now=now, second_person_above=second_person_above)
    await db.flush()
    await audit.record(
        db, actor=who, action=f"proposal.confirmed.{proposal.kind}", subject_type="proposal", subject_id=proposal.id,
        now=now, details={"proposed_by": proposal.proposed_by, "outcome": proposal.outcome},
    )  # fmt: skip
    return proposal


async def refuse(db: AsyncSession, *, who: Principal, proposal_id: int, now: datetime) -> Proposal:
    """A different person who may confirm it refuses it instead; nothing changes."""
    proposal = await _pending(db, who=who, proposal_id=proposal_id)
    await _decide(db, who=who, proposal=proposal, status="refused", now=now)
    await audit.record(
        db, actor=who, action=f"proposal.refused.{proposal.kind}", subject_type="proposal", subject_id=proposal.id,
        now=now, details={"proposed_by": proposal.proposed_by},
    )  # fmt: skip
    return proposal


async def _pending(db: AsyncSession, *, who: Principal, proposal_id: int) -> Proposal:
    proposal = await get_proposal(db, who=who, proposal_id=proposal_id)
    who.require(*duties.CONFIRMERS[proposal.kind])
    duties.refuse_own_confirmation(who, proposal.proposed_by)
    if proposal.kind == "grant_role":
        duties.refuse_own_grant(who, int(proposal.details["person_id"]))
    if proposal.status != "pending":
        raise ProposalAlreadyDecided(f"proposal {proposal.id} is already {proposal.status}")
    return proposal


async def _decide(db: AsyncSession, *, who: Principal, proposal: Proposal, status: str, now: datetime) -> None:
    """Only one decision wins, however many people decide at once."""
    decided = await db.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == "pending")
        .values(status=status, decided_by=who.person_id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(decided, "rowcount", 0) != 1:
        raise ProposalAlreadyDecided(f"proposal {proposal.id} was decided meanwhile")
    await db.refresh(proposal)


async def _apply(
    db: AsyncSession, *, who: Principal, proposal: Proposal, now: datetime, second_person_above: int
) -> str:
    """Make the change, through the use case that makes it, as the person confirming."""
    details = proposal.details
    if proposal.kind == "grant_role":
        person_id = int(details["person_id"])
        grant = await organisation.grant_role(
            db, actor=who, person_id=person_id, role=str(details["role"]), team_id=details["team_id"], now=now,
            proposal_id=proposal.id,
        )  # fmt: skip
        if details.get("open_wallet") and grant.team_id is not None:
            await budgets.open_wallet(db, actor=who, person_id=person_id, team_id=grant.team_id, now=now)
        return f"role_grant:{grant.id}"
    if proposal.kind == "publish_policy":
        version = await policies.publish_policy(
            db, who=who, document=details["document"], note=proposal.note, now=now, proposal_id=proposal.id
        )
        return f"policy_version:{version.id}"
    outcome = await budgets.fund_pot(
        db, actor=who, funding_source_id=int(details["funding_source_id"]), transfer_id=str(details["transfer_id"]),
        amount=int(details["amount"]), reason=proposal.note, now=now, second_person_above=second_person_above,
        proposal_id=proposal.id,
    )  # fmt: skip
    return f"transfer:{outcome.transfer_id}"


async def get_proposal(db: AsyncSession, *, who: Principal, proposal_id: int) -> Proposal:
    """One proposal, for those who may propose or confirm changes (and the auditor)."""
    _require_reader(who)
    proposal = await db.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id}")
    return proposal


async def list_proposals(
    db: AsyncSession,
    *,
    who: Principal,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[Proposal]:
    """Proposals, newest first (admins, finance and the auditor)."""
    _require_reader(who)
    statement = select(Proposal)
    if status is not None:
        statement = statement.where(Proposal.status == status)
    return await fetch_page(db, statement, Proposal.id, cursor=cursor, limit=limit)


def _require_reader(who: Principal) -> None:
    who.require("admin", "finance", "auditor")
