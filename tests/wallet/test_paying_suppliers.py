"""An invoice from request to paid, with the ledger verified after each step; and the refusals:
bad bank details, one person changing bank details alone, a payment run with nothing approved."""

from __future__ import annotations

import contextlib
import io
import uuid
from datetime import date
from typing import Any

import pytest

import ledger
from reports.payment_files import Originator, run_payment_lines, write_bacs18
from tests import receipt_files
from tests.wallet.support import County, Worker
from wallet import receipts
from wallet.clock import now_utc
from wallet.errors import BadBankDetails, NothingToPay, ReceiptNeeded, SecondPersonNeeded, SupplierNotConfirmed
from wallet.paying import payments, suppliers, worker_accounts
from wallet.paying.accounts import PAID_OUT, REIMBURSEMENTS_PAYABLE, SUPPLIER_PAYABLE
from wallet.paying.models import Supplier
from wallet.policy import DEFAULT_POLICY
from wallet.purchases import PurchaseAsk, make_purchase

JPEG = receipt_files.jpeg("an invoice from a supplier")
GOOD = {"sort_code": "08-99-99", "account_number": "66374958"}  # Vocalink's published MOD10 pass
GOOD_TOO = {"sort_code": "107999", "account_number": "88837491"}  # Vocalink's published MOD11 pass


async def verified(county: County) -> None:
    async with county.engine.connect() as connection:
        assert await ledger.verify(connection) == []


async def balance_of(county: County, code: str) -> int:
    async with county.session() as db:
        account = await ledger.find_account(db, code=code)
        counters = await ledger.balance(db, account_id=account.id)
        return counters.credits_posted - counters.debits_posted


async def call(county: County, person_id: int, use_case: Any, **arguments: Any) -> Any:
    async with county.session() as db:
        who = await county.principal(person_id)
        return await use_case(db, who=who, now=now_utc(), **arguments)


async def confirmed_supplier(county: County, maker: int, checker: int) -> int:
    details = suppliers.SupplierCreate(name=f"Beds Ltd {uuid.uuid4().hex[:6]}", address="1 High St, Exeter",
                                       vat_number="GB123456789", **GOOD)  # fmt: skip
    supplier = await call(county, maker, suppliers.register_supplier, supplier=details)
    await call(county, checker, suppliers.confirm_supplier, supplier_id=supplier.id)
    return int(supplier.id)


async def invoice_purchase(county: County, worker: Worker, amount: int) -> int:
    case = await county.open_family(worker)
    ask = PurchaseAsk(family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", description="A bed",
                      supplier="Beds Ltd", amount=amount, payment_method="invoice")  # fmt: skip
    result = await call(county, worker.person_id, make_purchase, ask=ask, policy=DEFAULT_POLICY)
    assert result.purchase.status == "held", result
    return int(result.purchase.id)


@pytest.fixture
async def finance_pair(county: County) -> tuple[int, int]:
    return await county.new_person("finance"), await county.new_person("finance")


async def test_an_invoice_goes_from_request_to_paid_and_back_when_the_bank_returns_it(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    worker = await county.new_key_worker(wallet_pence=50_000)
    supplier_id = await confirmed_supplier(county, maker, checker)
    payable_before, paid_before = await _house(county)

    purchase_id = await invoice_purchase(county, worker, 9_000)
    assert await county.available(worker.wallet_id) == 41_000
    await verified(county)
    await call(county, worker.person_id, payments.bill_purchase, purchase_id=purchase_id, supplier_id=supplier_id,
               reference="INV-0042")  # fmt: skip
    with pytest.raises(ReceiptNeeded):
        await call(county, maker, payments.approve_payable, purchase_id=purchase_id)
    await call(county, worker.person_id, receipts.attach_receipt, purchase_id=purchase_id, content=JPEG)
    await call(county, maker, payments.approve_payable, purchase_id=purchase_id)
    run = await call(county, maker, payments.start_payment_run)
    assert (run.items, run.total) == (1, 9_000)
    await verified(county)
    record = await bacs_record_of(county, maker, run.id)
    assert record[0:6] + record[6:14] + record[15:17] == "089999" + "66374958" + "99"
    assert (record[35:46], record[64:82].strip()) == ("00000009000", "INV-0042")

    await call(county, checker, payments.mark_run_paid, run_id=run.id)
    await verified(county)
    assert await county.available(worker.wallet_id) == 41_000
    assert await _house(county) == (payable_before, paid_before + 9_000)

    await call(county, maker, payments.record_returned_payment, purchase_id=purchase_id)
    await verified(county)
    assert await county.available(worker.wallet_id) == 50_000
    assert await _house(county) == (payable_before, paid_before)


async def bacs_record_of(county: County, finance: int, run_id: int) -> str:
    """The run's first BACS Standard 18 record, written from the database."""
    async with county.session() as db:
        lines = await run_payment_lines(db, who=await county.principal(finance), run_id=run_id)
    out = io.StringIO()
    write_bacs18(
        out, lines, Originator(sort_code="107999", account_number="88837491", name="Council"), date(2026, 12, 4)
    )
    return out.getvalue().split("\r\n")[0]


async def _house(county: County) -> tuple[int, int]:
    """What the supplier payable and the paid-out accounts hold (0 before each is opened: a
    reimbursement paid earlier opens the paid-out account before any supplier payable)."""
    held = []
    for code in (SUPPLIER_PAYABLE, PAID_OUT):
        try:
            held.append(await balance_of(county, code))
        except ledger.AccountNotFound:
            held.append(0)
    return held[0], held[1]


async def test_a_payment_run_with_nothing_approved_is_refused(county: County, finance_pair: tuple[int, int]) -> None:
    maker, _ = finance_pair
    with contextlib.suppress(NothingToPay):  # earlier tests' approved payments are collected first
        await call(county, maker, payments.start_payment_run)
    with pytest.raises(NothingToPay, match="nothing approved"):
        await call(county, maker, payments.start_payment_run)


@pytest.mark.parametrize(
    ("sort_code", "account_number"), [("089999", "66374959"), ("12-34", "66374958"), ("089999", "6637495")]
)
async def test_bad_bank_details_are_refused_and_nothing_is_recorded(
    county: County, finance_pair: tuple[int, int], sort_code: str, account_number: str
) -> None:
    maker, _ = finance_pair
    name = f"Refused {uuid.uuid4().hex[:6]}"
    details = suppliers.SupplierCreate(name=name, address="2 Low St", vat_number=None, sort_code=sort_code,
                                       account_number=account_number)  # fmt: skip
    with pytest.raises(BadBankDetails):
        await call(county, maker, suppliers.register_supplier, supplier=details)


async def test_new_bank_details_wait_for_a_second_person_and_the_old_ones_are_paid_meanwhile(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    supplier_id = await confirmed_supplier(county, maker, checker)
    change = await call(county, maker, suppliers.propose_bank_change, supplier_id=supplier_id, **GOOD_TOO)
    with pytest.raises(SecondPersonNeeded):
        await call(county, maker, suppliers.decide_bank_change, change_id=change.id, confirm=True)
    async with county.session() as db:
        supplier = await db.get(Supplier, supplier_id)
        assert supplier is not None
        assert (supplier.sort_code, supplier.account_number) == ("089999", "66374958")
    await call(county, checker, suppliers.decide_bank_change, change_id=change.id, confirm=True)
    async with county.session() as db:
        supplier = await db.get(Supplier, supplier_id)
        assert supplier is not None
        assert (supplier.sort_code, supplier.account_number) == ("107999", "88837491")


async def test_nobody_confirms_a_supplier_they_registered_and_it_takes_no_invoice_until_confirmed(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, _ = finance_pair
    worker = await county.new_key_worker(wallet_pence=10_000)
    details = suppliers.SupplierCreate(name="Solo Ltd", address="3 Mid St", vat_number=None, **GOOD)
    supplier = await call(county, maker, suppliers.register_supplier, supplier=details)
    with pytest.raises(SecondPersonNeeded):
        await call(county, maker, suppliers.confirm_supplier, supplier_id=supplier.id)
    purchase_id = await invoice_purchase(county, worker, 1_000)
    with pytest.raises(SupplierNotConfirmed):
        await call(county, worker.person_id, payments.bill_purchase, purchase_id=purchase_id,
                   supplier_id=supplier.id, reference="INV-1")  # fmt: skip


async def test_a_reimbursement_needs_its_receipt_then_is_paid_to_the_worker_through_the_run(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    worker = await county.new_key_worker(wallet_pence=5_000)
    case = await county.open_family(worker)
    ask = PurchaseAsk(family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", description="Emergency gas",
                      supplier="Corner shop", amount=2_000, payment_method="reimbursement")  # fmt: skip
    purchase_id = (await call(county, worker.person_id, make_purchase, ask=ask, policy=DEFAULT_POLICY)).purchase.id
    await call(county, worker.person_id, payments.bill_purchase, purchase_id=purchase_id, supplier_id=None,
               reference="Gas top-up")  # fmt: skip
    with pytest.raises(ReceiptNeeded):
        await call(county, maker, payments.approve_payable, purchase_id=purchase_id)
    await call(county, worker.person_id, receipts.attach_receipt, purchase_id=purchase_id, content=JPEG)
    await call(county, maker, payments.approve_payable, purchase_id=purchase_id)
    account = await call(county, worker.person_id, worker_accounts.propose_account, worker_id=worker.person_id,
                         **GOOD_TOO)  # fmt: skip
    await call(county, checker, worker_accounts.decide_account, account_id=account.id, confirm=True)
    run = await call(county, maker, payments.start_payment_run)
    async with county.session() as db:
        lines = await run_payment_lines(db, who=await county.principal(maker), run_id=run.id)
    mine = [line for line in lines if line.purchase == purchase_id]
    assert [(m.payee, m.supplier_number, m.supplier_name, m.sort_code, m.account_number, m.amount) for m in mine] == [
        ("worker", f"W{worker.person_id}", "", "107999", "88837491", 2_000)
    ]
    await call(county, checker, payments.mark_run_paid, run_id=run.id)
    await verified(county)
    assert await county.available(worker.wallet_id) == 3_000
    assert await balance_of(county, REIMBURSEMENTS_PAYABLE) == 0
