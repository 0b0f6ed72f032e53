"""Card refunds to match: the key worker (or finance) says which card purchase a refund that
Tide could not place by rule came from. The page calls the same use cases as the API
(``cards.refunds_to_match``); the money is back in the wallet already whatever is chosen."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.web.forms import AlreadySent, Form, already_sent, ascii_digits, once, read_form
from api.web.render import money, page
from api.web.session import UserDep, WebUser
from cards import refunds_to_match
from cards.errors import CardError
from wallet.errors import WalletError

DONE = {"matched": "The refund is on its purchase now."}


@get("/card-refunds")
async def refunds_page(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    found = await refunds_to_match.refunds_to_match(db, who=user.who)
    return page(
        "card_refunds.html.j2",
        user=user,
        title="Card refunds to match",
        back="/",
        refunds=found,
        done=DONE.get(done or ""),
    )


async def _refund_page(
    db: DbDep, user: WebUser, refund_id: int, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response[str]:
    refund = await refunds_to_match.refund_to_match(db, who=user.who, refund_id=refund_id)
    options = await refunds_to_match.candidates(db, who=user.who, refund_id=refund_id)
    return page(
        "card_refund.html.j2",
        user=user,
        status_code=status,
        title=f"Refund of {money(refund.amount)} from {refund.merchant_name}",
        back="/card-refunds",
        refund=refund,
        options=[
            (
                c.purchase_id,
                f"{money(c.captured)} at {c.supplier}",
                f"Up to {money(c.left)} can come back to it."
                + (" Same shop as the refund." if c.same_merchant else ""),
            )
            for c in options
        ],
        errors=errors or {},
    )


@get("/card-refunds/{refund_id:int}")
async def refund_detail(db: DbDep, user: UserDep, refund_id: PathId) -> Response[str]:
    return await _refund_page(db, user, refund_id)


@post("/card-refunds/{refund_id:int}/purchase")
async def assign_refund(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, refund_id: PathId
) -> Response[Any]:
    form: Form = await read_form(request)
    chosen = form.get("purchase")
    if not ascii_digits(chosen) or len(chosen) > 18:
        return await _refund_page(
            db, user, refund_id, errors={"purchase": "Choose the purchase it came from"}, status=422
        )

    async def act() -> str:
        await refunds_to_match.assign_refund(db, who=user.who, refund_id=refund_id, purchase_id=int(chosen), now=now)
        return "/card-refunds?done=matched"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (CardError, WalletError) as exc:
        status = form.refused("purchase", exc)
        return await _refund_page(db, user, refund_id, errors=form.errors, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [refunds_page, refund_detail, assign_refund]
