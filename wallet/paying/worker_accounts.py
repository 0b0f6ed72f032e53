"""A key worker's own bank account, where their reimbursements are paid.

As with suppliers (``wallet.paying.suppliers``), nothing takes one person's word: the worker or
a finance person proposes an account (checked for format and by Vocalink's modulus check), and
it is paid to only once a *second* person confirms it, a finance person who neither proposed it
nor owns it. A new account for a worker who has one waits, pending, while reimbursements still
go to the confirmed one; confirming it replaces the old. The database holds the same rules
(migration 0028: CHECK constraints, at most one confirmed account a worker).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.errors import BadBankDetails, NotAllowed, NotFound, ProposalAlreadyDecided, SecondPersonNeeded
from wallet.models import Person
from wallet.paying.bank_accounts import WeightRow
from wallet.paying.models import WorkerBankAccount
from wallet.paying.suppliers import checked_bank_details

#: The longest name on an account Tide keeps (``worker_bank_accounts.account_name``).
ACCOUNT_NAME_LENGTH = 70


async def propose_account(
    db: AsyncSession, *, who: Principal, worker_id: int, sort_code: str, account_number: str, now: datetime,
    weights: Sequence[WeightRow] | None = None, account_name: str | None = None,
) -> WorkerBankAccount:  # fmt: skip
    """The worker (for themselves) or finance proposes the worker's bank account (and the name on
    it, for the confirming person to check); pending until a second person confirms it."""
    if who.person_id != worker_id:
        who.require("finance")
    who.require_writer()
    if await db.get(Person, worker_id) is None:
        raise NotFound(f"no person {worker_id}")
    sort_code, account_number = checked_bank_details(sort_code, account_number, weights)
    account_name = " ".join((account_name or "").split()) or None
    if account_name is not None and len(account_name) > ACCOUNT_NAME_LENGTH:
        raise BadBankDetails(f"the name on the account is at most {ACCOUNT_NAME_LENGTH} characters")
    row = WorkerBankAccount(
        person_id=worker_id, sort_code=sort_code, account_number=account_number, account_name=account_name,
        status="pending",
        proposed_by=who.person_id, proposed_at=now,
    )  # fmt: skip
    db.add(row)
    await db.flush()
    await audit.record(
        db, actor=who, action="worker_bank_account.proposed", subject_type="person", subject_id=worker_id, now=now,
        details={"account": row.id},
    )  # fmt: skip
    return row


async def decide_account(
    db: AsyncSession, *, who: Principal, account_id: int, confirm: bool, now: datetime
) -> WorkerBankAccount:
    """A second person (finance, neither its proposer nor its owner) confirms or refuses a
    proposed account; confirmed, it replaces the worker's earlier account."""
    who.require("finance")
    row = (
        await db.execute(select(WorkerBankAccount).where(WorkerBankAccount.id == account_id).with_for_update())
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no worker bank account {account_id}")
    if row.status != "pending":
        raise ProposalAlreadyDecided(f"the bank account is already {row.status}")
    if who.person_id in (row.proposed_by, row.person_id):
        raise SecondPersonNeeded("a different finance person must confirm a worker's bank account")
    if confirm:
        earlier = await confirmed_account(db, person_id=row.person_id, for_update=True)
        if earlier is not None:
            earlier.status = "replaced"
            await db.flush()
    row.status, row.decided_by, row.decided_at = ("confirmed" if confirm else "refused"), who.person_id, now
    await db.flush()
    await audit.record(
        db, actor=who, action=f"worker_bank_account.{row.status}", subject_type="person", subject_id=row.person_id,
        now=now, details={"account": row.id},
    )  # fmt: skip
    return row


async def confirmed_account(db: AsyncSession, *, person_id: int, for_update: bool = False) -> WorkerBankAccount | None:
    """The worker's confirmed account, the one reimbursements are paid to (none: not yet)."""
    statement = select(WorkerBankAccount).where(
        WorkerBankAccount.person_id == person_id, WorkerBankAccount.status == "confirmed"
    )
    return (await db.execute(statement.with_for_update() if for_update else statement)).scalar_one_or_none()


async def accounts_of(db: AsyncSession, *, who: Principal, worker_id: int) -> Sequence[WorkerBankAccount]:
    """A worker's accounts, newest first: to the worker themselves, finance and auditors."""
    if who.person_id != worker_id and not who.has("finance", "auditor"):
        raise NotAllowed("a worker's bank account is seen by the worker and finance")
    statement = (
        select(WorkerBankAccount).where(WorkerBankAccount.person_id == worker_id).order_by(WorkerBankAccount.id.desc())
    )
    return (await db.execute(statement)).scalars().all()


async def accounts_waiting(db: AsyncSession, *, who: Principal) -> Sequence[WorkerBankAccount]:
    """Accounts waiting for a second person, oldest first: to finance and auditors."""
    who.require("finance", "auditor")
    statement = select(WorkerBankAccount).where(WorkerBankAccount.status == "pending").order_by(WorkerBankAccount.id)
    return (await db.execute(statement)).scalars().all()


async def with_confirmed_account(db: AsyncSession, *, person_ids: Iterable[int]) -> set[int]:
    """Of ``person_ids``, those with a confirmed account: the others' reimbursements are left out
    of a payment run (``payments.start_payment_run``)."""
    statement = select(WorkerBankAccount.person_id).where(
        WorkerBankAccount.person_id.in_(set(person_ids)), WorkerBankAccount.status == "confirmed"
    )
    return {int(person_id) for person_id in (await db.execute(statement)).scalars().all()}
