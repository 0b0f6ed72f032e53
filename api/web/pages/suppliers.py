"""Finance's supplier register: the suppliers, registering one, a second finance person
confirming it, and changes of bank details proposed by one person and confirmed or refused by
another. Every rule is the use case's (``wallet.paying.suppliers``), the API's too; the page
shows what the Vocalink modulus check said and keeps what was typed when something is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.routes.payments import modulus_weights
from api.web.forms import AlreadySent, Form, already_sent, once, read_form
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from wallet import team
from wallet.errors import BadBankDetails, BadSupplierDetails, WalletError
from wallet.paying import suppliers
from wallet.paying.bank_accounts import Verdict

FIELDS = ("name", "address", "vat_number", "sort_code", "account_number")
DONE = {
    "registered": "The supplier is registered. A different finance person must confirm it before it can be "
    "invoiced or paid.",
    "confirmed": "The supplier is confirmed. Key workers can raise invoices against it now.",
    "proposed": "The new bank details are waiting for a different finance person to confirm them. Until then, "
    "payments go to the old details.",
    "change_confirmed": "The new bank details are confirmed. Payments go to them from now.",
    "change_refused": "The new bank details are refused. Payments still go to the old details.",
}
#: What the Vocalink modulus check said, in words (a failure never gets this far: it is refused).
VERDICTS = {
    Verdict.PASSED: "Passes: the account number belongs with the sort code (Vocalink's modulus check).",
    Verdict.UNCHECKED: "Unchecked: Vocalink's table has no check Tide can do for this sort code. Check the details "
    "with the supplier, on a phone number you already hold for them.",
}
#: The same, in a word, where old and new details are set side by side.
VERDICT_WORDS = {Verdict.PASSED: "Passes", Verdict.UNCHECKED: "Unchecked"}


def sort_code_display(sort_code: str) -> str:
    """``089999`` → ``08-99-99``."""
    return "-".join(sort_code[i : i + 2] for i in range(0, len(sort_code), 2))


def masked(account_number: str) -> str:
    """An account number as pages show it: only its last digits."""
    return f"ending {suppliers.account_ending(account_number)}"


def _refused(form: Form, exc: WalletError) -> int:
    """A refusal shown against the field it is about (the use case names it)."""
    part = exc.part if isinstance(exc, BadBankDetails | BadSupplierDetails) else "name"
    return form.refused(part, exc)


def _shown(values: dict[str, str]) -> dict[str, str]:
    return {name: values.get(name, "") for name in FIELDS}


@get("/finance/suppliers")
async def supplier_list(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    waiting = await suppliers.pending_bank_changes(db, who=user.who)
    found = await suppliers.list_suppliers(db, who=user.who)
    changes: dict[int, int] = {}
    for change in waiting:
        changes[change.supplier_id] = changes.get(change.supplier_id, 0) + 1
    return page(
        "suppliers.html.j2",
        user=user,
        title="Suppliers",
        current="/finance",
        back="/finance",
        suppliers=found,
        changes=changes,
        sort_code=sort_code_display,
        masked=masked,
        done=DONE.get(done or ""),
    )


def _register_page(user: WebUser, form: Form | None = None, status: int = 200) -> Response[str]:
    return page(
        "suppliers_new.html.j2",
        user=user,
        status_code=status,
        title="Register a supplier",
        current="/finance",
        back="/finance/suppliers",
        values=_shown(form.values if form else {}),
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/finance/suppliers/new")
async def register_form(user: UserDep) -> Response[str]:
    user.who.require("finance")  # refused before the form is filled in, as the API refuses
    return _register_page(user)


@post("/finance/suppliers")
async def register_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    details = suppliers.SupplierCreate(
        name=form.get("name")[:200], address=form.get("address")[:500], vat_number=form.get("vat_number")[:20] or None,
        sort_code=form.get("sort_code")[:12], account_number=form.get("account_number")[:12],
    )  # fmt: skip

    async def act() -> str:
        made = await suppliers.register_supplier(
            db, who=user.who, supplier=details, now=now, weights=modulus_weights(request)
        )
        return f"/finance/suppliers/{made.id}?done=registered"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:  # not allowed: the error page, as the API answers
        status = _refused(form, exc)
        return _register_page(user, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


async def _supplier_page(
    request: Request[Any, Any, Any], db: AsyncSession, user: WebUser, supplier_id: int, *,
    done: str | None = None, errors: dict[str, str] | None = None, status: int = 200,
) -> Response[str]:  # fmt: skip
    record = await suppliers.supplier_record(
        db, who=user.who, supplier_id=supplier_id, weights=modulus_weights(request)
    )
    supplier = record.supplier
    people = {supplier.created_by, supplier.confirmed_by or 0}
    people |= {c.proposed_by for c, _ in record.changes} | {c.decided_by or 0 for c, _ in record.changes}
    return page(
        "suppliers_one.html.j2",
        user=user,
        status_code=status,
        title=supplier.name,
        current="/finance",
        back="/finance/suppliers",
        record=record,
        supplier=supplier,
        pending=[(c, v) for c, v in record.changes if c.status == "pending"],
        decided=[(c, v) for c, v in record.changes if c.status != "pending"],
        verdicts=VERDICTS,
        verdict_words=VERDICT_WORDS,
        names=await team.names_of(db, people - {0}),
        sort_code=sort_code_display,
        masked=masked,
        errors=errors or {},
        done=DONE.get(done or ""),
    )


@get("/finance/suppliers/{supplier_id:int}")
async def supplier_detail(
    request: Request[Any, Any, Any], db: DbDep, user: UserDep, supplier_id: PathId, done: FromQuery[str | None] = None
) -> Response[str]:
    return await _supplier_page(request, db, user, supplier_id, done=done)


async def _decided(
    request: Request[Any, Any, Any], db: AsyncSession, user: WebUser, now: datetime, supplier_id: int, field: str,
    act: Callable[[], Awaitable[str]],
) -> Response[Any]:  # fmt: skip
    """Land a confirm or refuse once. A refusal about the supplier (already decided) is shown on
    its page with the API's status; one that is not (the maker confirming their own: the second
    person rule, 403; not finance; not there) is the error page, as the API answers."""
    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        form = Form(values={}, lists={})
        status = form.refused(field, exc)
        return await _supplier_page(request, db, user, supplier_id, errors=form.errors, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@post("/finance/suppliers/{supplier_id:int}/confirmation")
async def confirm_supplier(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, supplier_id: PathId
) -> Response[Any]:
    async def act() -> str:
        await suppliers.confirm_supplier(db, who=user.who, supplier_id=supplier_id, now=now)
        return f"/finance/suppliers/{supplier_id}?done=confirmed"

    return await _decided(request, db, user, now, supplier_id, "confirm", act)


@post("/finance/suppliers/{supplier_id:int}/bank-details/{change_id:int}/decision")
async def decide_bank_change(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, supplier_id: PathId, change_id: PathId
) -> Response[Any]:
    form = await read_form(request)
    confirming = form.get("decision") == "confirm"

    async def act() -> str:
        change = await suppliers.decide_bank_change(db, who=user.who, change_id=change_id, confirm=confirming, now=now)
        return f"/finance/suppliers/{change.supplier_id}?done=change_{change.status}"

    return await _decided(request, db, user, now, supplier_id, f"change-{change_id}", act)


async def _change_page(
    request: Request[Any, Any, Any], db: AsyncSession, user: WebUser, supplier_id: int, form: Form | None = None,
    status: int = 200,
) -> Response[str]:  # fmt: skip
    user.who.require("finance")  # refused before the form is filled in, as the API refuses
    record = await suppliers.supplier_record(
        db, who=user.who, supplier_id=supplier_id, weights=modulus_weights(request)
    )
    return page(
        "suppliers_bank_details.html.j2",
        user=user,
        status_code=status,
        title=f"New bank details for {record.supplier.name}",
        current="/finance",
        back=f"/finance/suppliers/{supplier_id}",
        supplier=record.supplier,
        sort_code=sort_code_display,
        masked=masked,
        values=_shown(form.values if form else {}),
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/finance/suppliers/{supplier_id:int}/bank-details")
async def change_form(request: Request[Any, Any, Any], db: DbDep, user: UserDep, supplier_id: PathId) -> Response[str]:
    return await _change_page(request, db, user, supplier_id)


@post("/finance/suppliers/{supplier_id:int}/bank-details")
async def change_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, supplier_id: PathId
) -> Response[Any]:
    form = await read_form(request)

    async def act() -> str:
        await suppliers.propose_bank_change(
            db, who=user.who, supplier_id=supplier_id, sort_code=form.get("sort_code")[:12],
            account_number=form.get("account_number")[:12], now=now, weights=modulus_weights(request),
        )  # fmt: skip
        return f"/finance/suppliers/{supplier_id}?done=proposed"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        status = _refused(form, exc)
        return await _change_page(request, db, user, supplier_id, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [
    supplier_list,
    register_form,
    register_submit,
    supplier_detail,
    confirm_supplier,
    decide_bank_change,
    change_form,
    change_submit,
]
