"""The supplier register, kept by finance.

Mandate fraud (a letter "from the supplier" with new bank details) is the common attack on
accounts payable, so nothing here takes one person's word: a new supplier is usable only after
a *different* finance person confirms it, and new bank details wait, pending, until a second
finance person confirms them; until then every payment goes to the old, confirmed details.
Bank details are checked for format and by Vocalink's modulus check before they are stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.errors import BadBankDetails, BadSupplierDetails, NotFound, ProposalAlreadyDecided, SecondPersonNeeded
from wallet.paying import bank_accounts
from wallet.paying.bank_accounts import Verdict, WeightRow
from wallet.paying.models import BankDetailsChange, Supplier

_VAT_NUMBER = re.compile(r"^(GB)?(\d{9}|\d{12}|GD\d{3}|HA\d{3})$")


@dataclass(frozen=True, slots=True)
class SupplierCreate:
    """What finance records of a new supplier."""

    name: str
    address: str
    vat_number: str | None
    sort_code: str
    account_number: str


#: How many of an account number's digits are ever shown (pages, API, files other than payments).
ENDING_DIGITS = 4


def account_ending(account_number: str) -> str:
    """The last digits of an account number, the only part Tide shows."""
    return account_number[-ENDING_DIGITS:]


def modulus_verdict(
    sort_code: str, account_number: str, weights: Sequence[WeightRow] | None = None
) -> tuple[str, str, Verdict]:
    """The details normalised and what the modulus check says of them; refused with
    ``BadBankDetails`` (naming the part) if malformed or failing the check."""
    try:
        sort_code, account_number = bank_accounts.normalise(sort_code, account_number)
    except bank_accounts.BadBankDetails as exc:
        raise BadBankDetails(str(exc), part=exc.part) from exc
    table = weights if weights is not None else bank_accounts.load_weights()
    verdict = bank_accounts.check(sort_code, account_number, table)
    if verdict is Verdict.FAILED:
        raise BadBankDetails("that account number does not belong with that sort code (the modulus check fails)")
    return sort_code, account_number, verdict


def checked_bank_details(
    sort_code: str, account_number: str, weights: Sequence[WeightRow] | None = None
) -> tuple[str, str]:
    """The details normalised, refused with ``BadBankDetails`` if malformed or failing the modulus check."""
    sort_code, account_number, _ = modulus_verdict(sort_code, account_number, weights)
    return sort_code, account_number


def _vat_number(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    tidy = text.replace(" ", "").upper()
    if not _VAT_NUMBER.match(tidy):
        raise BadSupplierDetails("a UK VAT number is GB followed by 9 or 12 digits", part="vat_number")
    return tidy


async def register_supplier(
    db: AsyncSession, *, who: Principal, supplier: SupplierCreate, now: datetime,
    weights: Sequence[WeightRow] | None = None,
) -> Supplier:  # fmt: skip
    """Record a supplier, pending until a second finance person confirms it."""
    who.require("finance")
    sort_code, account_number = checked_bank_details(supplier.sort_code, supplier.account_number, weights)
    if not supplier.name.strip():
        raise BadSupplierDetails("a supplier needs a name", part="name")
    if not supplier.address.strip():
        raise BadSupplierDetails("a supplier needs an address", part="address")
    row = Supplier(
        name=supplier.name.strip(), address=supplier.address.strip(), vat_number=_vat_number(supplier.vat_number),
        sort_code=sort_code, account_number=account_number, status="pending", created_by=who.person_id,
        created_at=now,
    )  # fmt: skip
    db.add(row)
    await db.flush()
    await audit.record(db, actor=who, action="supplier.registered", subject_type="supplier", subject_id=row.id, now=now)
    return row


async def get_supplier(db: AsyncSession, *, supplier_id: int, for_update: bool = False) -> Supplier:
    statement = select(Supplier).where(Supplier.id == supplier_id)
    if for_update:
        statement = statement.with_for_update()
    supplier = (await db.execute(statement)).scalar_one_or_none()
    if supplier is None:
        raise NotFound(f"no supplier {supplier_id}")
    return supplier


async def confirm_supplier(db: AsyncSession, *, who: Principal, supplier_id: int, now: datetime) -> Supplier:
    """A second finance person confirms a new supplier; from then on it can be invoiced and paid."""
    who.require("finance")
    supplier = await get_supplier(db, supplier_id=supplier_id, for_update=True)
    if supplier.status != "pending":
        raise ProposalAlreadyDecided("the supplier is already confirmed")
    if supplier.created_by == who.person_id:
        raise SecondPersonNeeded("a different finance person must confirm the supplier you registered")
    supplier.status, supplier.confirmed_by, supplier.confirmed_at = "confirmed", who.person_id, now
    await db.flush()
    await audit.record(
        db, actor=who, action="supplier.confirmed", subject_type="supplier", subject_id=supplier.id, now=now
    )
    return supplier


async def propose_bank_change(
    db: AsyncSession, *, who: Principal, supplier_id: int, sort_code: str, account_number: str, now: datetime,
    weights: Sequence[WeightRow] | None = None,
) -> BankDetailsChange:  # fmt: skip
    """New bank details for a supplier, waiting for a second person; the old ones are still paid to."""
    who.require("finance")
    supplier = await get_supplier(db, supplier_id=supplier_id, for_update=True)
    sort_code, account_number = checked_bank_details(sort_code, account_number, weights)
    change = BankDetailsChange(
        supplier_id=supplier.id, sort_code=sort_code, account_number=account_number, status="pending",
        proposed_by=who.person_id, proposed_at=now,
    )  # fmt: skip
    db.add(change)
    await db.flush()
    await audit.record(
        db, actor=who, action="supplier.bank_change_proposed", subject_type="supplier", subject_id=supplier.id,
        now=now, details={"change": change.id},
    )  # fmt: skip
    return change


async def decide_bank_change(
    db: AsyncSession, *, who: Principal, change_id: int, confirm: bool, now: datetime
) -> BankDetailsChange:
    """A second finance person confirms (the supplier is paid to the new details from now) or refuses."""
    who.require("finance")
    change = (
        await db.execute(select(BankDetailsChange).where(BankDetailsChange.id == change_id).with_for_update())
    ).scalar_one_or_none()
    if change is None:
        raise NotFound(f"no bank details change {change_id}")
    if change.status != "pending":
        raise ProposalAlreadyDecided(f"the change is already {change.status}")
    if change.proposed_by == who.person_id:
        raise SecondPersonNeeded("a different finance person must confirm new bank details")
    change.status, change.decided_by, change.decided_at = ("confirmed" if confirm else "refused"), who.person_id, now
    if confirm:
        supplier = await get_supplier(db, supplier_id=change.supplier_id, for_update=True)
        supplier.sort_code, supplier.account_number = change.sort_code, change.account_number
    await db.flush()
    await audit.record(
        db, actor=who, action=f"supplier.bank_change_{change.status}", subject_type="supplier",
        subject_id=change.supplier_id, now=now, details={"change": change.id},
    )  # fmt: skip
    return change


async def list_suppliers(db: AsyncSession, *, who: Principal) -> Sequence[Supplier]:
    """Every supplier, by name (finance, auditors and key workers choosing one to invoice)."""
    who.require("finance", "auditor", "key_worker", "admin")
    return (await db.execute(select(Supplier).order_by(Supplier.name, Supplier.id))).scalars().all()


@dataclass(frozen=True, slots=True)
class SupplierRecord:
    """A supplier as finance reviews it: its details, what the modulus check says of the bank
    details it is paid to, and every change of bank details proposed (newest first) with what
    the check says of each change's details."""

    supplier: Supplier
    verdict: Verdict
    changes: Sequence[tuple[BankDetailsChange, Verdict]]


async def supplier_record(
    db: AsyncSession, *, who: Principal, supplier_id: int, weights: Sequence[WeightRow] | None = None
) -> SupplierRecord:
    """One supplier with its bank-detail changes (finance, auditors, admins)."""
    who.require("finance", "auditor", "admin")
    supplier = await get_supplier(db, supplier_id=supplier_id)
    statement = select(BankDetailsChange).where(BankDetailsChange.supplier_id == supplier.id)
    newest_first = statement.order_by(BankDetailsChange.proposed_at.desc(), BankDetailsChange.id.desc())
    changes = (await db.execute(newest_first)).scalars().all()
    table = weights if weights is not None else bank_accounts.load_weights()
    return SupplierRecord(
        supplier=supplier,
        verdict=bank_accounts.check(supplier.sort_code, supplier.account_number, table),
        changes=[(change, bank_accounts.check(change.sort_code, change.account_number, table)) for change in changes],
    )


async def pending_bank_changes(db: AsyncSession, *, who: Principal) -> Sequence[BankDetailsChange]:
    """Every change of bank details waiting for a second finance person, oldest first."""
    who.require("finance", "auditor", "admin")
    statement = select(BankDetailsChange).where(BankDetailsChange.status == "pending")
    return (await db.execute(statement.order_by(BankDetailsChange.proposed_at, BankDetailsChange.id))).scalars().all()
