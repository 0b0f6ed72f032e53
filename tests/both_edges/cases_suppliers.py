"""The supplier register's use cases, each sent once as the API's client sends it and once as
finance's page form does; and its refusals, which answer the same status through both. A second
finance person (made by the system, as the demo's people are) registers and proposes where the
demo's one finance account must be the second person."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.both_edges.edges import Case, Ids, who
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.demo import DEMO_PASSWORD
from wallet.organisation import create_person, grant_role
from wallet.paying import suppliers

SUPPLIER = {"name": "Beds Direct Ltd", "address": "1 High Street, Exeter EX1 1AA", "vat_number": "GB123456789",
            "sort_code": "08-99-99", "account_number": "66374958"}  # fmt: skip
NEW_DETAILS = {"sort_code": "10-79-99", "account_number": "88837491"}
#: The same sort code with an account number that fails Vocalink's modulus check.
FAILS_THE_CHECK = {**SUPPLIER, "account_number": "66374959"}


async def _second_finance(db: AsyncSession) -> int:
    now = now_utc()
    person = await create_person(db, actor=None, email="finance.second@council.example", display_name="Sam Second",
                                 password=DEMO_PASSWORD, now=now)  # fmt: skip
    await grant_role(db, actor=None, person_id=person.id, role="finance", team_id=None, now=now)
    return int(person.id)


async def a_supplier_someone_else_registered(db: AsyncSession, ids: Ids) -> None:
    """A second finance person has registered Beds Direct Ltd: it awaits confirmation."""
    second = await load_principal(db, person_id=await _second_finance(db))
    made = await suppliers.register_supplier(db, who=second, supplier=suppliers.SupplierCreate(**SUPPLIER),
                                             now=now_utc())  # fmt: skip
    ids["supplier"] = made.id


async def a_supplier_finance_registered(db: AsyncSession, ids: Ids) -> None:
    """The demo's finance person has registered Beds Direct Ltd: it awaits someone else."""
    made = await suppliers.register_supplier(db, who=await who(db, "finance"),
                                             supplier=suppliers.SupplierCreate(**SUPPLIER), now=now_utc())  # fmt: skip
    ids["supplier"] = made.id


async def new_bank_details_someone_else_proposed(db: AsyncSession, ids: Ids) -> None:
    """Beds Direct Ltd, with new bank details a second finance person proposed."""
    await a_supplier_someone_else_registered(db, ids)
    second = await load_principal(db, person_id=await _person_of_supplier(db, ids["supplier"]))
    change = await suppliers.propose_bank_change(
        db, who=second, supplier_id=ids["supplier"], sort_code=NEW_DETAILS["sort_code"],
        account_number=NEW_DETAILS["account_number"], now=now_utc(),
    )  # fmt: skip
    ids["change"] = change.id


async def _person_of_supplier(db: AsyncSession, supplier_id: int) -> int:
    return int((await suppliers.get_supplier(db, supplier_id=supplier_id)).created_by)


TABLES = ("suppliers", "supplier_bank_changes")

SUPPLIER_CASES = {
    "finance registers a supplier": Case(
        tables=TABLES,
        by_api=lambda v: v.api("finance", "POST", "/api/v1/suppliers", SUPPLIER),
        by_page=lambda v: v.page("finance", "/finance/suppliers", SUPPLIER),
    ),
    "a second finance person confirms a supplier": Case(
        tables=TABLES, scene=a_supplier_someone_else_registered,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/suppliers/{v.ids['supplier']}/confirmation"),
        by_page=lambda v: v.page("finance", f"/finance/suppliers/{v.ids['supplier']}/confirmation", {}),
    ),
    "finance proposes new bank details for a supplier": Case(
        tables=TABLES, scene=a_supplier_someone_else_registered,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/suppliers/{v.ids['supplier']}/bank-details",
                               NEW_DETAILS),
        by_page=lambda v: v.page("finance", f"/finance/suppliers/{v.ids['supplier']}/bank-details", NEW_DETAILS),
    ),
    "a second finance person confirms new bank details": Case(
        tables=TABLES, scene=new_bank_details_someone_else_proposed,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/bank-details-changes/{v.ids['change']}/decision",
                               {"confirm": True}),
        by_page=lambda v: v.page(
            "finance", f"/finance/suppliers/{v.ids['supplier']}/bank-details/{v.ids['change']}/decision",
            {"decision": "confirm"}),
    ),
    "a second finance person refuses new bank details": Case(
        tables=TABLES, scene=new_bank_details_someone_else_proposed,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/bank-details-changes/{v.ids['change']}/decision",
                               {"confirm": False}),
        by_page=lambda v: v.page(
            "finance", f"/finance/suppliers/{v.ids['supplier']}/bank-details/{v.ids['change']}/decision",
            {"decision": "refuse"}),
    ),
}  # fmt: skip
