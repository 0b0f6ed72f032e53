"""A key worker's own bank account, where their reimbursements are paid: the worker enters it
on their own page (sort code, account number and the name on it; the modulus check's verdict
shown, what was typed kept when it is refused, only the account number's last four digits
shown once saved); finance sees the accounts waiting for a second person and confirms or
refuses each.

The same use cases as the API's (``wallet.paying.worker_accounts``), once for each form's key.
The second-person rule refuses as the API does: the proposer or owner confirming gets the error
page of ``SecondPersonNeeded`` (403), in the use case's words."""

from __future__ import annotations

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
from wallet.errors import NotAllowed, WalletError
from wallet.paying import bank_accounts, worker_accounts
from wallet.paying.models import WorkerBankAccount

DONE = {
    "proposed": "Your bank account is saved. A finance person confirms it before you are paid back to it.",
    "confirmed": "The bank account is confirmed. Reimbursements are paid to it from the next payment run.",
    "refused": "The bank account is refused. The key worker is asked to enter it again.",
}

#: Where an account stands, in the users' words.
STATUS_WORDS = {
    "pending": "Waiting for a finance person to confirm it",
    "confirmed": "Confirmed: reimbursements are paid here",
    "refused": "Refused by finance",
    "replaced": "Replaced by a newer account",
}

#: The modulus check's verdict, in words.
VERDICT_WORDS = {
    bank_accounts.Verdict.PASSED: "The sort code and account number pass the bank's modulus check.",
    bank_accounts.Verdict.UNCHECKED: "The bank's modulus check has no rule for this sort code: check it by hand.",
    bank_accounts.Verdict.FAILED: "The account number does not belong with the sort code (the modulus check fails).",
}


def masked(account_number: str) -> str:
    """Only the last four digits of an account number, as the API shows it (``account_ending``)."""
    return f"ending {account_number[-4:]}"


def _shown(request: Request[Any, Any, Any], rows: Any) -> list[dict[str, str]]:
    weights = modulus_weights(request)
    return [
        {
            "id": str(row.id),
            "sort_code": f"{row.sort_code[:2]}-{row.sort_code[2:4]}-{row.sort_code[4:]}",
            "account": masked(row.account_number),
            "name": row.account_name or "",
            "status": row.status,
            "words": STATUS_WORDS.get(row.status, row.status),
            "verdict": VERDICT_WORDS[bank_accounts.check(row.sort_code, row.account_number, weights)],
            "person_id": str(row.person_id),
        }
        for row in rows
    ]


async def _own_page(
    request: Request[Any, Any, Any], db: AsyncSession, user: WebUser, form: Form | None = None, status: int = 200,
    done: str | None = None,
) -> Response[str]:  # fmt: skip
    rows = await worker_accounts.accounts_of(db, who=user.who, worker_id=user.who.person_id)
    return page(
        "bank_account.html.j2",
        user=user,
        status_code=status,
        title="Your bank account for reimbursements",
        current="/",
        back="/",
        accounts=_shown(request, rows),
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
        done=done,
    )


@get("/bank-account")
async def own_page(
    request: Request[Any, Any, Any], db: DbDep, user: UserDep, done: FromQuery[str | None] = None
) -> Response[str]:
    return await _own_page(request, db, user, done=DONE.get(done or ""))


def _field(exc: WalletError) -> str:
    """The field a refusal of the bank details is about."""
    text = str(exc)
    if "name on the account" in text:
        return "account_name"
    return "sort_code" if "sort code is" in text else "account_number"


@post("/bank-account")
async def own_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    user.who.require_writer()
    form = await read_form(request)
    sort_code, account_number = form.get("sort_code")[:12], form.get("account_number")[:12]
    account_name = form.get("account_name")[:200]
    if not account_name:
        form.error("account_name", "Enter the name on the account, as the bank shows it")
    if not sort_code:
        form.error("sort_code", "Enter the sort code, like 12-34-56")
    if not account_number:
        form.error("account_number", "Enter the account number, eight digits")

    async def act() -> str:
        await worker_accounts.propose_account(
            db, who=user.who, worker_id=user.who.person_id, sort_code=sort_code, account_number=account_number,
            now=now, weights=modulus_weights(request), account_name=account_name,
        )  # fmt: skip
        return "/bank-account?done=proposed"

    if form.ok:
        try:
            result = await once(request, db, user=user, now=now, act=act)
        except WalletError as exc:
            status = form.refused(_field(exc), exc)
            return await _own_page(request, db, user, form, status=status)
        return already_sent(user, result) if isinstance(result, AlreadySent) else result
    return await _own_page(request, db, user, form, status=422)


def _require_finance_or_auditor(user: WebUser) -> None:
    if not user.who.has("finance", "auditor"):
        raise NotAllowed("this is for finance")


async def _waiting_page(
    request: Request[Any, Any, Any], db: AsyncSession, user: WebUser, done: str | None = None
) -> Response[str]:
    _require_finance_or_auditor(user)
    rows: list[WorkerBankAccount] = list(await worker_accounts.accounts_waiting(db, who=user.who))
    names = await team.names_of(db, {r.person_id for r in rows} | {r.proposed_by for r in rows})
    return page(
        "worker_bank_accounts.html.j2",
        user=user,
        title="Workers' bank accounts",
        current="/finance",
        back="/finance",
        accounts=_shown(request, rows),
        names={str(k): v for k, v in names.items()},
        proposers={str(r.id): names.get(r.proposed_by, "") for r in rows},
        done=done,
    )


@get("/finance/worker-bank-accounts")
async def waiting_page(
    request: Request[Any, Any, Any], db: DbDep, user: UserDep, done: FromQuery[str | None] = None
) -> Response[str]:
    return await _waiting_page(request, db, user, done=DONE.get(done or ""))


@post("/finance/worker-bank-accounts/{account_id:int}/decision")
async def decide_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, account_id: PathId
) -> Response[Any]:
    if not user.who.has("finance"):  # refused before the form is read, as the API refuses
        raise NotAllowed("only finance confirms a worker's bank account")
    form = await read_form(request)
    confirm = form.get("decision") == "confirm"

    async def act() -> str:
        row = await worker_accounts.decide_account(db, who=user.who, account_id=account_id, confirm=confirm, now=now)
        return f"/finance/worker-bank-accounts?done={row.status}"

    result = await once(request, db, user=user, now=now, act=act)  # a refusal: the API's error page
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [own_page, own_submit, waiting_page, decide_submit]
