"""Request and response bodies of the supplier register and payment runs (strict types from ``api.schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, StringConstraints

from api.schemas import Flag, Id, In, Out, Text

BankText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]


class SupplierCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Beds Ltd", "address": "1 High Street, Exeter EX1 1AA",
                                         "vat_number": "GB123456789", "sort_code": "08-99-99",
                                         "account_number": "66374958"}]},
    )  # fmt: skip

    name: Text
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    vat_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    sort_code: BankText
    account_number: BankText


class BankDetailsCreate(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"sort_code": "107999", "account_number": "88837491"}]}
    )

    sort_code: BankText
    account_number: BankText


class WorkerBankAccountCreate(BankDetailsCreate):
    """A worker's own bank account: the details, and (optionally) the name on the account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"sort_code": "107999", "account_number": "88837491", "account_name": "A Worker"}]
        },
    )

    account_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70)] | None = None


class BankDetailsDecision(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"confirm": True}]})

    confirm: Flag


class PayeeCreate(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"supplier_id": 1, "reference": "INV-0042"}]}
    )

    supplier_id: Id | None = None
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class SupplierRead(Out):
    """A supplier; the account number is shown only by its last four digits."""

    id: int
    name: str
    address: str
    vat_number: str | None
    sort_code: str
    account_ending: str
    status: str


class BankDetailsChangeRead(Out):
    id: int
    supplier_id: int
    status: str
    proposed_at: datetime


class PayableRead(Out):
    purchase_id: int
    payee: str
    supplier_id: int | None
    reference: str
    status: str
    payment_run_id: int | None


class PaymentRunRead(Out):
    id: int
    status: str
    total_pence: int
    items: int
    created_at: datetime
    paid_at: datetime | None


class WorkerBankAccountRead(Out):
    """A worker's own bank account; the account number is shown only by its last four digits."""

    id: int
    person_id: int
    sort_code: str
    account_ending: str
    account_name: str | None
    status: str
    proposed_at: datetime
