"""A worker's own bank account for reimbursements: set by the worker or finance, checked as
Vocalink publishes, paid to only once a second person confirms it (and a change the same);
a reimbursement for a worker without confirmed details is left out of the payment run, and a
run with nothing else is refused with a clear message. The database holds the rules too."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from tests.wallet.support import County, Worker
from tests.wallet.test_paying_suppliers import GOOD, GOOD_TOO, JPEG, call, verified
from wallet import receipts
from wallet.errors import BadBankDetails, NotAllowed, NothingToPay, SecondPersonNeeded, WorkerBankDetailsNeeded
from wallet.paying import payments, worker_accounts
from wallet.paying.models import Payable, WorkerBankAccount
from wallet.policy import DEFAULT_POLICY
from wallet.purchases import PurchaseAsk, make_purchase


@pytest.fixture
async def finance_pair(county: County) -> tuple[int, int]:
    return await county.new_person("finance"), await county.new_person("finance")


async def approved_reimbursement(county: County, worker: Worker, finance: int, amount: int = 1_500) -> int:
    case = await county.open_family(worker)
    ask = PurchaseAsk(family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", description="Emergency gas",
                      supplier="Corner shop", amount=amount, payment_method="reimbursement")  # fmt: skip
    purchase_id = int((await call(county, worker.person_id, make_purchase, ask=ask, policy=DEFAULT_POLICY)).purchase.id)
    await call(county, worker.person_id, payments.bill_purchase, purchase_id=purchase_id, supplier_id=None,
               reference="Gas top-up")  # fmt: skip
    await call(county, worker.person_id, receipts.attach_receipt, purchase_id=purchase_id, content=JPEG)
    await call(county, finance, payments.approve_payable, purchase_id=purchase_id)
    return purchase_id


async def _clear_the_queue(county: County, finance: int) -> None:
    """Earlier tests' approved payments are collected into a run of their own first."""
    for _ in range(2):
        with contextlib.suppress(NothingToPay, WorkerBankDetailsNeeded):
            await call(county, finance, payments.start_payment_run)


async def _payable(county: County, purchase_id: int) -> Payable:
    async with county.session() as db:
        found = await db.get(Payable, purchase_id)
        assert found is not None
        return found


async def test_a_reimbursement_waits_out_of_the_run_until_the_workers_account_is_confirmed(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    await _clear_the_queue(county, maker)
    worker = await county.new_key_worker(wallet_pence=5_000)
    purchase_id = await approved_reimbursement(county, worker, maker)
    with pytest.raises(WorkerBankDetailsNeeded, match=rf"purchases {purchase_id}\).*confirmed by a second finance"):
        await call(county, maker, payments.start_payment_run)
    assert (await _payable(county, purchase_id)).status == "approved"

    account = await call(county, worker.person_id, worker_accounts.propose_account, worker_id=worker.person_id, **GOOD)
    with pytest.raises(WorkerBankDetailsNeeded):  # proposed is not confirmed
        await call(county, maker, payments.start_payment_run)
    await call(county, checker, worker_accounts.decide_account, account_id=account.id, confirm=True)
    run = await call(county, maker, payments.start_payment_run)
    paid = await _payable(county, purchase_id)
    assert (paid.payment_run_id, paid.paid_sort_code, paid.paid_account_number) == (run.id, "089999", "66374958")
    await call(county, checker, payments.mark_run_paid, run_id=run.id)
    await verified(county)


async def test_a_run_pays_what_it_can_and_leaves_a_reimbursement_without_details_for_later(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    await _clear_the_queue(county, maker)
    ready, waiting = await county.new_key_worker(wallet_pence=5_000), await county.new_key_worker(wallet_pence=5_000)
    account = await call(county, maker, worker_accounts.propose_account, worker_id=ready.person_id, **GOOD_TOO)
    await call(county, checker, worker_accounts.decide_account, account_id=account.id, confirm=True)
    paid_id = await approved_reimbursement(county, ready, maker)
    left_id = await approved_reimbursement(county, waiting, maker)
    run = await call(county, maker, payments.start_payment_run)
    assert (run.items, run.total) == (1, 1_500)
    assert (await _payable(county, paid_id)).payment_run_id == run.id
    assert (await _payable(county, left_id)).status == "approved"
    later = await call(county, maker, worker_accounts.propose_account, worker_id=waiting.person_id, **GOOD)
    await call(county, checker, worker_accounts.decide_account, account_id=later.id, confirm=True)
    assert (await call(county, maker, payments.start_payment_run)).items == 1  # the county's queue left clear


async def test_a_changed_account_needs_a_second_person_and_the_old_one_is_paid_meanwhile(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    worker = await county.new_key_worker(wallet_pence=5_000)
    first = await call(county, worker.person_id, worker_accounts.propose_account, worker_id=worker.person_id, **GOOD)
    with pytest.raises(NotAllowed):  # a worker never confirms their own: only finance confirms
        await call(county, worker.person_id, worker_accounts.decide_account, account_id=first.id, confirm=True)
    await call(county, maker, worker_accounts.decide_account, account_id=first.id, confirm=True)
    change = await call(county, maker, worker_accounts.propose_account, worker_id=worker.person_id, **GOOD_TOO)
    with pytest.raises(SecondPersonNeeded):  # its proposer cannot confirm it
        await call(county, maker, worker_accounts.decide_account, account_id=change.id, confirm=True)
    async with county.session() as db:
        current = await worker_accounts.confirmed_account(db, person_id=worker.person_id)
        assert current is not None
        assert current.id == first.id
    await call(county, checker, worker_accounts.decide_account, account_id=change.id, confirm=True)
    async with county.session() as db:
        current = await worker_accounts.confirmed_account(db, person_id=worker.person_id)
        assert current is not None
        assert (current.id, current.sort_code) == (change.id, "107999")
        assert (await db.get(WorkerBankAccount, first.id)).status == "replaced"  # type: ignore[union-attr]


@pytest.mark.parametrize(("sort_code", "account_number"), [("089999", "66374959"), ("12-34", "66374958")])
async def test_bad_bank_details_for_a_worker_are_refused(county: County, sort_code: str, account_number: str) -> None:
    worker = await county.new_key_worker(wallet_pence=1_000)
    with pytest.raises(BadBankDetails):
        await call(county, worker.person_id, worker_accounts.propose_account, worker_id=worker.person_id,
                   sort_code=sort_code, account_number=account_number)  # fmt: skip


async def test_another_key_worker_cannot_set_a_workers_account(county: County) -> None:
    worker, other = await county.new_key_worker(wallet_pence=1_000), await county.new_key_worker(wallet_pence=1_000)
    with pytest.raises(NotAllowed):
        await call(county, other.person_id, worker_accounts.propose_account, worker_id=worker.person_id, **GOOD)


async def test_the_database_refuses_an_account_confirmed_by_its_proposer_or_two_confirmed_at_once(
    county: County, finance_pair: tuple[int, int]
) -> None:
    maker, checker = finance_pair
    worker = await county.new_key_worker(wallet_pence=1_000)
    one = await call(county, maker, worker_accounts.propose_account, worker_id=worker.person_id, **GOOD)
    two = await call(county, maker, worker_accounts.propose_account, worker_id=worker.person_id, **GOOD_TOO)
    confirmed: dict[str, Any] = {"status": "confirmed", "decided_at": one.proposed_at}
    with pytest.raises(IntegrityError):
        async with county.session() as db:
            await db.execute(
                update(WorkerBankAccount).where(WorkerBankAccount.id == one.id).values(decided_by=maker, **confirmed)
            )
    await _confirm_both(county, [one.id, two.id], checker, confirmed)


async def _confirm_both(county: County, ids: list[int], checker: int, confirmed: dict[str, Any]) -> None:
    async def both() -> None:
        async with county.session() as db:
            for row_id in ids:
                await db.execute(
                    update(WorkerBankAccount)
                    .where(WorkerBankAccount.id == row_id)
                    .values(decided_by=checker, **confirmed)
                )

    with pytest.raises(IntegrityError):
        await both()


async def test_the_name_on_the_account_is_kept_as_given_and_a_too_long_one_is_refused(county: County) -> None:
    worker = await county.new_key_worker(wallet_pence=1_000)
    row = await call(county, worker.person_id, worker_accounts.propose_account, worker_id=worker.person_id,
                     account_name="  Kim   Worker ", **GOOD)  # fmt: skip
    assert row.account_name == "Kim Worker"
    with pytest.raises(BadBankDetails, match="name on the account"):
        await call(county, worker.person_id, worker_accounts.propose_account, worker_id=worker.person_id,
                   account_name="K" * 71, **GOOD)  # fmt: skip
