"""One purchase: the policy's answer in plain words, its receipts, asking a manager, completing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromQuery

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.web.forms import AlreadySent, Form, already_sent, ascii_digits, once, read_form, refusal_status, sentence
from api.web.render import STATUS_WORDS, category_label, money, page
from api.web.session import UserDep, WebUser
from approvals import buying, conversation
from approvals.errors import ApprovalError
from approvals.purchase_file import purchase_file
from wallet import purchases, receipts
from wallet.approval_models import ApprovalRequest
from wallet.errors import WalletError
from wallet.models import Purchase
from wallet.paying import payments, to_pay

DONE = {
    "purchase": None,
    "receipt": "The receipt is attached.",
    "asked": "Your manager has been asked. You will see their answer here.",
    "answered": "Your answer has been sent.",
    "completed": "Done: the money is set aside. Add the receipt when you have it.",
    "cancelled": "The purchase is cancelled.",
    "billed": "Finance has it now. They pay it once the invoice or receipt is attached and they approve it.",
}


def reason_in_words(code: str, *, declined: bool = False) -> str:
    """A stored policy reason code in plain English."""
    if code.startswith("purchase_over_"):
        limit = code.removeprefix("purchase_over_")
        return f"It costs more than {money(int(limit))}." if ascii_digits(limit) else "It costs more than the limit."
    if code.startswith("category_"):
        what = category_label(code.removeprefix("category_")).lower()
        return f"Buying {what} is not allowed." if declined else f"Buying {what} needs your manager's approval."
    return {
        "case_cap": "It would take the family's spending this case past the council's limit.",
        "family_period_cap": "It would take the family's spending this month past the limit.",
        "wallet_period_cap": "It would take your own spending past your limit.",
        "insufficient_funds": "Your wallet does not have enough left for this.",
        "allowance_used": "Your manager approved it.",
        "approval_declined": "Your manager did not approve it.",
        "approval_cancelled": "The request to your manager was withdrawn.",
    }.get(code, code.replace("_", " ").capitalize() + ".")


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a purchase stands, said once: the page's panel and its "Status" row both read it,
    so they cannot disagree (a purchase waiting on an approval that has been given is "approved,
    not yet completed", not "needs approval")."""

    heading: str
    sentence: str
    colour: str  # the panel's: "" (plain), "yellow" or "red"
    word: str  # the summary's "Status" row


def standing(purchase: Purchase, request: ApprovalRequest | None) -> Standing:
    """The one status a purchase page shows for ``purchase`` and its approval ``request``."""
    word = STATUS_WORDS.get(purchase.status, purchase.status)
    untouched = "Nothing has been taken from your wallet yet."
    asked = request.status if request is not None else None
    if purchase.status == "needs_approval" and asked == "approved":
        up_to = money(request.approved_ceiling if request and request.approved_ceiling else 0)
        said = f"Your manager approved up to {up_to}. Nothing is set aside from your wallet until it is completed."
        return Standing("Approved: complete the purchase", said, "", "Approved, not yet completed")
    if purchase.status == "needs_approval" and asked in ("open", "awaiting_second"):
        return Standing("Waiting for your manager's decision", untouched, "yellow", "Waiting for approval")
    refused = asked == "declined" or "approval_declined" in purchase.policy_reasons
    if purchase.status in ("needs_approval", "declined") and refused:
        said = "Nothing was taken from your wallet."
        return Standing("Your manager did not approve this", said, "red", "Not approved")
    plain = {
        "held": ("You can go ahead", f"{money(purchase.amount)} is set aside from your wallet.", ""),
        "captured": ("Paid", f"{money(purchase.captured_amount)} paid to {purchase.supplier}.", ""),
        "needs_approval": ("Your manager needs to approve this", untouched, "yellow"),
        "declined": ("You cannot buy this", "The council's spending rules do not allow it.", "red"),
    }
    heading, said, colour = plain.get(purchase.status, (f"{money(purchase.amount)} at {purchase.supplier}", "", ""))
    return Standing(heading, said, colour, word)


async def _context(db: DbDep, user: WebUser, purchase_id: int) -> dict[str, Any]:
    found = await purchase_file(db, who=user.who, purchase_id=purchase_id)
    purchase = found.purchase
    mine = purchase.worker_id == user.who.person_id
    return {
        "purchase": purchase,
        "family": found.family,
        "needs": found.needs,
        "receipts": await receipts.as_seen_by(db, who=user.who, receipts=found.receipts),
        "reasons": [reason_in_words(c, declined=purchase.status == "declined") for c in purchase.policy_reasons],
        "request": found.request,
        "standing": standing(purchase, found.request),
        "messages": found.messages,
        "mine": mine,
        **await _paying(db, user, purchase, mine=mine),
        "may_add_receipt": (mine or purchase.team_id in user.who.managed_team_ids)
        and purchase.status in ("held", "captured", "needs_approval", "partly_refunded"),
    }


#: Where an invoice's or reimbursement's payment stands, in the key worker's words.
PAYMENT_WORDS = {
    "awaiting_approval": "Waiting for finance to approve it. They need the invoice or receipt attached.",
    "approved": "Approved: it is paid in the next payment run.",
    "in_run": "In a payment run: finance is paying it.",
    "paid": "Paid.",
    "returned": "The bank returned the payment: the money is back in your wallet.",
}


async def _paying(db: DbDep, user: WebUser, purchase: Purchase, *, mine: bool) -> dict[str, Any]:
    """An invoice or reimbursement's payment: where it stands, and the suppliers its key worker
    can say it pays while it is held and nobody has been named yet."""
    if purchase.payment_method not in ("invoice", "reimbursement"):
        return {"payable": None, "may_bill": False, "suppliers": []}
    payable = await to_pay.payable_of(db, who=user.who, purchase_id=purchase.id)
    may_bill = mine and payable is None and purchase.status == "held"
    invoice = may_bill and purchase.payment_method == "invoice"
    suppliers = await to_pay.confirmed_suppliers(db, who=user.who) if invoice else []
    return {"payable": payable, "may_bill": may_bill, "suppliers": [(str(s.id), s.name) for s in suppliers],
            "payment_words": PAYMENT_WORDS}  # fmt: skip


def _purchase_page(
    user: WebUser,
    context: dict[str, Any],
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    purchase: Purchase = context["purchase"]
    return page(
        "purchase.html.j2",
        user=user,
        status_code=status,
        title=f"{money(purchase.amount)} at {purchase.supplier}",
        back=f"/families/{purchase.family_id}" if user.who.has("key_worker") else "/",
        done=DONE.get(done or ""),
        errors=errors or {},
        **context,
    )


@get("/purchases/{purchase_id:int}")
async def purchase_detail(
    db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId, done: FromQuery[str | None] = None
) -> Response[str]:
    return _purchase_page(user, await _context(db, user, purchase_id), done=done)


async def _act_on_purchase(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: WebUser, purchase_id: int, field: str, act: Any
) -> Response[Any]:
    """Run ``act`` once for the form's key; a refusal is shown against ``field`` on the purchase page."""
    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ApprovalError) as exc:
        status = refusal_status(exc)
        context = await _context(db, user, purchase_id)
        return _purchase_page(user, context, errors={field: sentence(exc)}, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@post("/purchases/{purchase_id:int}/receipts")
async def add_receipt(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    form = await request.form()
    upload = form.get("receipt")
    content = await upload.read() if isinstance(upload, UploadFile) else b""
    if not content:
        context = await _context(db, user, purchase_id)
        return _purchase_page(user, context, errors={"receipt": "Choose a photo or PDF of the receipt"}, status=422)

    async def act() -> str:
        await receipts.attach_receipt(db, who=user.who, purchase_id=purchase_id, content=content, now=now)
        return f"/purchases/{purchase_id}?done=receipt"

    return await _act_on_purchase(request, db, now, user, purchase_id, "receipt", act)


@get("/receipts/{receipt_id:int}")
async def receipt_file(db: DbDep, user: UserDep, receipt_id: PathId) -> Response[bytes]:
    """The receipt itself, only to those who may see its purchase (anyone else: not found)."""
    receipt, content = await receipts.open_receipt(db, who=user.who, receipt_id=receipt_id)
    return Response(
        content,
        media_type=receipt.content_type,
        headers=receipts.download_headers(receipt),
    )


@post("/purchases/{purchase_id:int}/ask")
async def ask_manager(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    form: Form = await read_form(request)
    reason = form.get("reason")
    if not reason:
        context = await _context(db, user, purchase_id)
        return _purchase_page(user, context, errors={"reason": "Say why this is needed"}, status=422)

    async def act() -> str:
        await buying.ask_manager_about(db, who=user.who, purchase_id=purchase_id, reason=reason, now=now)
        return f"/purchases/{purchase_id}?done=asked"

    return await _act_on_purchase(request, db, now, user, purchase_id, "reason", act)


@post("/purchases/{purchase_id:int}/answer")
async def answer_manager(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    form = await read_form(request)
    body = form.get("answer")
    context = await _context(db, user, purchase_id)
    if not body or context["request"] is None:
        return _purchase_page(user, context, errors={"answer": "Enter your answer"}, status=422)
    request_id = context["request"].id

    async def act() -> str:
        await conversation.answer(db, who=user.who, request_id=request_id, body=body[:2000], now=now)
        return f"/purchases/{purchase_id}?done=answered"

    return await _act_on_purchase(request, db, now, user, purchase_id, "answer", act)


@post("/purchases/{purchase_id:int}/complete")
async def complete(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    async def act() -> str:
        await purchases.complete_with_allowance(db, who=user.who, purchase_id=purchase_id, now=now)
        return f"/purchases/{purchase_id}?done=completed"

    return await _act_on_purchase(request, db, now, user, purchase_id, "complete", act)


@post("/purchases/{purchase_id:int}/cancel")
async def cancel(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    async def act() -> str:
        await purchases.cancel_purchase(db, who=user.who, purchase_id=purchase_id, now=now)
        return f"/purchases/{purchase_id}?done=cancelled"

    return await _act_on_purchase(request, db, now, user, purchase_id, "cancel", act)


@post("/purchases/{purchase_id:int}/payee")
async def say_who_is_paid(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    """The key worker names the confirmed supplier and the invoice's number (or, paid back
    themselves, the receipt's reference): the API's ``/payee``, the same use case."""
    form = await read_form(request)
    supplier, reference = form.get("supplier"), form.get("reference")[:40]
    context = await _context(db, user, purchase_id)
    invoice = context["purchase"].payment_method == "invoice"
    errors: dict[str, str] = {}
    if invoice and not (ascii_digits(supplier) and len(supplier) < 16):
        errors["supplier"] = "Choose the supplier on the invoice"
    if not reference:
        errors["reference"] = "Enter the invoice number" if invoice else "Enter the receipt's number or date"
    if errors:
        return _purchase_page(user, context, errors=errors, status=422)

    async def act() -> str:
        supplier_id = int(supplier) if invoice else None
        await payments.bill_purchase(
            db, who=user.who, purchase_id=purchase_id, supplier_id=supplier_id, reference=reference, now=now
        )
        return f"/purchases/{purchase_id}?done=billed"

    return await _act_on_purchase(request, db, now, user, purchase_id, "reference", act)


HANDLERS = [purchase_detail, add_receipt, say_who_is_paid, receipt_file, ask_manager, answer_manager, complete, cancel]
