"""Who may see and do what: one place, used by every use case and every list.

A key worker sees their own wallet and the families they work with; a team manager their
teams; finance everything financial but no needs detail; an auditor everything, read-only;
an admin the organisation, the policy and the restricted case-system links. Anything a caller
may not see is reported as not found, never as forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.errors import NotAllowed, NotSignedIn
from wallet.models import Family, FamilyWorker, Person, Purchase, RoleGrant, Wallet
from wallet.visibility import Channel, Shown, roles_see, shown_to


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person and what their roles reach."""

    person_id: int
    display_name: str
    roles: frozenset[str]
    worker_team_ids: frozenset[int] = field(default_factory=frozenset)
    managed_team_ids: frozenset[int] = field(default_factory=frozenset)
    wallet_id: int | None = None
    request_id: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_all_money(self) -> bool:
        """Finance, auditors and admins see every wallet and purchase."""
        return self.has("finance", "auditor", "admin")

    @property
    def sees_all_families(self) -> bool:
        """Auditors and admins see every family (finance sees no needs detail)."""
        return self.has("auditor", "admin")

    def require(self, *roles: str) -> None:
        """Refuse unless the person holds one of ``roles``."""
        if not self.has(*roles):
            raise NotAllowed(f"this needs the role {' or '.join(roles)}")

    def require_writer(self) -> None:
        """Auditors (and anyone with no other role) only read."""
        if not self.has("key_worker", "team_manager", "finance", "admin"):
            raise NotAllowed("read-only access")


async def load_principal(db: AsyncSession, *, person_id: int, request_id: str | None = None) -> Principal:
    """The principal for an active person, with their roles, teams and wallet."""
    person = await db.get(Person, person_id)
    if person is None or not person.active:
        raise NotSignedIn("the account is not active")
    grants = (await db.execute(select(RoleGrant).where(RoleGrant.person_id == person_id))).scalars().all()
    wallet_id = (await db.execute(select(Wallet.id).where(Wallet.person_id == person_id))).scalar_one_or_none()
    roles = frozenset(g.role for g in grants)
    if "admin" in roles:
        wallet_id = None  # an admin spends from no wallet (wallet.duties), whatever older data holds
    return Principal(
        person_id=person_id,
        display_name=person.display_name,
        roles=roles,
        worker_team_ids=frozenset(g.team_id for g in grants if g.role == "key_worker" and g.team_id),
        managed_team_ids=frozenset(g.team_id for g in grants if g.role == "team_manager" and g.team_id),
        wallet_id=wallet_id,
        request_id=request_id,
    )


def visible_families(who: Principal) -> ColumnElement[bool]:
    """A filter on ``Family`` for the families ``who`` may see."""
    if who.sees_all_families:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if who.has("key_worker"):
        clauses.append(Family.id.in_(select(FamilyWorker.family_id).where(FamilyWorker.person_id == who.person_id)))
    if who.managed_team_ids:
        clauses.append(Family.team_id.in_(who.managed_team_ids))
    return or_(*clauses) if clauses else false()


def visible_wallets(who: Principal) -> ColumnElement[bool]:
    """A filter on ``Wallet`` for the wallets ``who`` may see."""
    if who.sees_all_money:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if who.wallet_id is not None:
        clauses.append(Wallet.id == who.wallet_id)
    if who.managed_team_ids:
        clauses.append(Wallet.team_id.in_(who.managed_team_ids))
    return or_(*clauses) if clauses else false()


def visible_purchases(who: Principal) -> ColumnElement[bool]:
    """A filter on ``Purchase``: one's own, those for one's families, one's teams', or all for finance."""
    if who.sees_all_money:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if who.has("key_worker"):
        clauses.append(Purchase.worker_id == who.person_id)
        clauses.append(
            Purchase.family_id.in_(select(FamilyWorker.family_id).where(FamilyWorker.person_id == who.person_id))
        )
    if who.managed_team_ids:
        clauses.append(Purchase.team_id.in_(who.managed_team_ids))
    return or_(*clauses) if clauses else false()


def may_see_needs(who: Principal) -> bool:
    """Finance sees purchases but not the needs behind them (:mod:`wallet.visibility`)."""
    return roles_see(who.roles, "need_detail")


def shows(who: Principal, channel: Channel = "api") -> Shown:
    """Which field classes ``who`` is shown (:mod:`wallet.visibility`'s one table)."""
    return shown_to(who.roles, channel)
