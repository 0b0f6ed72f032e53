"""Reading the supplier register as finance's pages do: what the modulus check says of a
supplier's details and of each proposed change, the changes waiting for a second person, and
refusals that say which detail was wrong."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.wallet.support import County
from wallet.clock import now_utc
from wallet.errors import BadBankDetails, BadSupplierDetails, NotAllowed
from wallet.paying import suppliers
from wallet.paying.bank_accounts import Verdict

GOOD = {"sort_code": "08-99-99", "account_number": "66374958"}  # Vocalink's published MOD10 pass
GOOD_TOO = {"sort_code": "107999", "account_number": "88837491"}  # Vocalink's published MOD11 pass
UNCHECKABLE = {"sort_code": "40-47-84", "account_number": "12345678"}  # in no row of the shipped table


async def call(county: County, person_id: int, use_case: Any, **arguments: Any) -> Any:
    async with county.session() as db:
        return await use_case(db, who=await county.principal(person_id), **arguments)


def _details(**changes: Any) -> suppliers.SupplierCreate:
    fields = {"name": f"Beds {uuid.uuid4().hex[:6]}", "address": "1 High St", "vat_number": None, **GOOD}
    return suppliers.SupplierCreate(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "part"),
    [
        ({"sort_code": "08-99"}, "sort_code"),
        ({"account_number": "6637495"}, "account_number"),
        ({"account_number": "66374959"}, "account_number"),  # the modulus check fails
        ({"name": " "}, "name"),
        ({"address": ""}, "address"),
        ({"vat_number": "GB12"}, "vat_number"),
    ],
)
async def test_a_refused_supplier_names_the_detail_that_was_wrong(
    county: County, changes: dict[str, str], part: str
) -> None:
    finance = await county.new_person("finance")
    with pytest.raises((BadBankDetails, BadSupplierDetails)) as refused:
        await call(county, finance, suppliers.register_supplier, supplier=_details(**changes), now=now_utc())
    assert getattr(refused.value, "part", None) == part


def test_the_modulus_verdict_is_told_for_details_that_pass_or_cannot_be_checked() -> None:
    assert suppliers.modulus_verdict("08-99-99", "66374958") == ("089999", "66374958", Verdict.PASSED)
    assert suppliers.modulus_verdict("40-47-84", "12345678") == ("404784", "12345678", Verdict.UNCHECKED)
    with pytest.raises(BadBankDetails, match="modulus check fails"):
        suppliers.modulus_verdict(sort_code="089999", account_number="66374959")


def test_only_an_account_numbers_last_four_digits_are_shown() -> None:
    assert suppliers.account_ending("66374958") == "4958"


async def test_a_supplier_record_holds_its_verdict_and_its_changes_newest_first(county: County) -> None:
    maker, checker = await county.new_person("finance"), await county.new_person("finance")
    supplier = await call(county, maker, suppliers.register_supplier, supplier=_details(**UNCHECKABLE), now=now_utc())
    first = await call(county, maker, suppliers.propose_bank_change, supplier_id=supplier.id, now=now_utc(), **GOOD)
    await call(county, checker, suppliers.decide_bank_change, change_id=first.id, confirm=False, now=now_utc())
    second = await call(
        county, maker, suppliers.propose_bank_change, supplier_id=supplier.id, now=now_utc(), **GOOD_TOO
    )

    record = await call(county, checker, suppliers.supplier_record, supplier_id=supplier.id)
    assert record.verdict is Verdict.UNCHECKED
    assert [(c.id, c.status, v) for c, v in record.changes] == [
        (second.id, "pending", Verdict.PASSED),
        (first.id, "refused", Verdict.PASSED),
    ]
    waiting = await call(county, checker, suppliers.pending_bank_changes)
    assert second.id in {c.id for c in waiting}
    assert first.id not in {c.id for c in waiting}


async def test_a_key_worker_reads_no_supplier_record_nor_changes_waiting(county: County) -> None:
    finance = await county.new_person("finance")
    worker = await county.new_key_worker()
    supplier = await call(county, finance, suppliers.register_supplier, supplier=_details(), now=now_utc())
    with pytest.raises(NotAllowed):
        await call(county, worker.person_id, suppliers.supplier_record, supplier_id=supplier.id)
    with pytest.raises(NotAllowed):
        await call(county, worker.person_id, suppliers.pending_bank_changes)
