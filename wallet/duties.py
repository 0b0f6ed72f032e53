"""Separation of duties: what no one person may do alone. Stated here once; the use cases ask.

- **An admin holds no wallet.** The admin role and the key worker's role (with its wallet) are
  never held together: an admin is not granted a key worker's role nor given a wallet, and
  someone who holds either is not made an admin. An admin who must also buy for families
  needs a second, ordinary account, held by someone else's say.
- **Nobody grants themselves a role**, and nobody confirms a change they proposed (or a role
  for themselves that someone else proposed).
- **A second person confirms** granting a role, publishing the spend policy, and funding a pot
  above the threshold (the setting ``TIDE_FUNDING_SECOND_PERSON_ABOVE_PENCE``, £10,000 by
  default): the first person records a proposal (:mod:`wallet.proposals`), a different person
  who may confirm it (:data:`CONFIRMERS`) makes it take effect.
- **Set-up scripts** (``actor=None``: the demo, a first admin from the command line) act as
  the system and need no second person; every person's act is one of the above.

Every step (proposed, confirmed, refused, and what it made) is written to the audit log.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal
from wallet.errors import AdminHoldsNoWallet, OwnGrantRefused, SecondPersonNeeded
from wallet.models import RoleGrant, Wallet

#: Funding a pot with more than this (pence) needs a second person: £10,000.
DEFAULT_FUNDING_SECOND_PERSON_ABOVE = 1_000_000

#: Who may propose, and who (a different person) may confirm, each kind of change.
PROPOSERS: dict[str, tuple[str, ...]] = {
    "grant_role": ("admin",),
    "publish_policy": ("admin",),
    "fund_pot": ("finance", "admin"),
}
CONFIRMERS: dict[str, tuple[str, ...]] = PROPOSERS

#: Roles never held together by one person (the wallet counts as the key worker's role).
INCOMPATIBLE: tuple[tuple[str, str], ...] = (("admin", "key_worker"),)


def refuse_own_grant(actor: Principal | None, person_id: int) -> None:
    """Nobody grants (or confirms a grant of) a role to themselves."""
    if actor is not None and actor.person_id == person_id:
        raise OwnGrantRefused("nobody grants a role to themselves; another admin must")


def refuse_own_confirmation(actor: Principal, proposed_by: int) -> None:
    if actor.person_id == proposed_by:
        raise OwnGrantRefused("a change is confirmed by someone other than the person who proposed it")


def require_second_person(actor: Principal | None, *, confirmed: bool, what: str) -> None:
    """A person (not a set-up script) makes this change only by confirming another's proposal."""
    if actor is not None and not confirmed:
        raise SecondPersonNeeded(f"{what} needs a second person: propose it, and another confirms it")


def funding_needs_second_person(amount: int, threshold: int) -> bool:
    return amount > threshold


async def roles_held(db: AsyncSession, *, person_id: int) -> set[str]:
    """The person's roles, with ``key_worker`` for a wallet holder whatever their grants say."""
    grants = await db.execute(select(RoleGrant.role).where(RoleGrant.person_id == person_id))
    held = set(grants.scalars())
    if (await db.execute(select(Wallet.id).where(Wallet.person_id == person_id))).first():
        held.add("key_worker")
    return held


async def check_role_fits(db: AsyncSession, *, person_id: int, role: str) -> None:
    """Refuse a role the person's other roles (or wallet) rule out."""
    held = await roles_held(db, person_id=person_id)
    for one, other in INCOMPATIBLE:
        if (role == one and other in held) or (role == other and one in held):
            raise AdminHoldsNoWallet(
                f"an {one.replace('_', ' ')} is never also a {other.replace('_', ' ')} (nor holds a wallet)"
            )


async def check_wallet_fits(db: AsyncSession, *, person_id: int) -> None:
    """An admin is given no wallet."""
    await check_role_fits(db, person_id=person_id, role="key_worker")
