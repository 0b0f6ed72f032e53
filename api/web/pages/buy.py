"""Buying for a family, a few short steps: family → need → what, how much, where → check → answer.

The answers so far travel in the address as ids, codes and the amount only, so the back button
and "Change" links just work without JavaScript; what the worker types (what it is, the shop)
is free text, which never goes in an address (access logs, history, ``Referer``): it is posted,
kept on the server under the flow's key (``wallet.buy_drafts``) and read back on each step.
The idempotency key is made at the first step and carried to the last, so a double tap or a
resend of "Confirm" buys once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect

from api.deps import DbDep, NowDep
from api.web.forms import (
    AlreadySent,
    Form,
    already_sent,
    ascii_digits,
    once,
    parse_pounds,
    pounds_problem,
    read_form,
    valid_key,
)
from api.web.render import money, new_key, page
from api.web.session import UserDep, WebUser
from approvals import buying
from reports.redaction_lists import check_free_text
from wallet import buy_drafts, purchases
from wallet import families as family_cases
from wallet.errors import NotFound, WalletError
from wallet.limits import family_limits_left
from wallet.models import Family, Need
from wallet.policies import current_policy
from wallet.taxonomy import CATEGORIES, NEEDS, PAYMENT_METHODS

#: What a key worker can choose to buy (cash, gambling and alcohol exist only to be refused at a till).
BUYABLE = [code for code in CATEGORIES if code not in ("CASH", "GAMBLING", "ALCOHOL")]


@dataclass
class Draft:
    """The purchase being put together."""

    key: str = ""
    family: int | None = None
    needs: list[int] = field(default_factory=list)
    category: str = ""
    amount: str = ""
    supplier: str = ""
    description: str = ""
    method: str = ""

    @classmethod
    def read(cls, values: dict[str, str], lists: dict[str, list[str]]) -> Draft:
        def number(text: str) -> int | None:
            return int(text) if ascii_digits(text) and len(text) < 16 else None

        key = values.get("idempotency_key", "").strip()
        return cls(
            key=key if valid_key(key) else new_key(),
            family=number(values.get("family", "").strip()),
            needs=[n for n in (number(v.strip()) for v in lists.get("need", [])) if n is not None],
            category=values.get("category", "").strip(),
            amount=values.get("amount", "").strip()[:20],
            supplier=values.get("supplier", "").strip()[:120],
            description=values.get("description", "").strip()[:200],
            method=values.get("method", "").strip(),
        )

    #: What a person types: posted in forms and kept on the server, never put in an address.
    FREE_TEXT = ("supplier", "description")

    def pairs(self, *, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = [("idempotency_key", self.key)]
        if self.family is not None:
            items.append(("family", str(self.family)))
        items += [("need", str(n)) for n in self.needs]
        for name in ("category", "amount", "supplier", "description", "method"):
            value = getattr(self, name)
            if value:
                items.append((name, value))
        return [(k, v) for k, v in items if k not in skip]

    def url(self, path: str) -> str:
        return f"{path}?{urlencode(self.pairs(skip=self.FREE_TEXT))}"


async def _draft_from_address(request: Request[Any, Any, Any], db: DbDep, user: WebUser) -> Draft:
    """The draft a step's address names: ids, codes and amount from the query (free text
    there is ignored), the words from the server."""
    params = request.query_params
    values = {k: v for k, v in params.items() if isinstance(v, str) and k not in Draft.FREE_TEXT}
    lists = {k: [v for v in params.getall(k) if isinstance(v, str)] for k in params}
    draft = Draft.read(values, lists)
    draft.description, draft.supplier = await buy_drafts.draft_words(db, who=user.who, key=draft.key)
    return draft


async def _my_open_families(db: DbDep, user: WebUser) -> list[Family]:
    return await family_cases.families_to_buy_for(db, who=user.who)


async def _family(db: DbDep, user: WebUser, draft: Draft) -> Family:
    """The family chosen, refused as buying refuses it (``purchases.family_to_buy_for``)."""
    if draft.family is None:
        raise NotFound("choose one of your open families")
    return await purchases.family_to_buy_for(db, who=user.who, family_id=draft.family)


async def _open_needs(db: DbDep, user: WebUser, family: Family) -> list[Need]:
    return await family_cases.needs_of(db, who=user.who, family_id=family.id, only_open=True)


def _family_options(families: list[Family]) -> list[tuple[str, str, str]]:
    return [(str(f.id), f.reference, f.locality) for f in families]


def _step(template: str, user: WebUser, draft: Draft, form: Form | None = None, **context: Any) -> Response[str]:
    return page(
        template,
        user=user,
        status_code=form.status if form and form.errors else 200,
        current="/buy",
        draft=draft,
        errors=form.errors if form else {},
        **context,
    )


# 1. Which family --------------------------------------------------------------------------


@get("/buy")
async def family_step(request: Request[Any, Any, Any], db: DbDep, user: UserDep) -> Response[str]:
    user.who.require("key_worker")
    draft = await _draft_from_address(request, db, user)
    return _step("buy_family.html.j2", user, draft, title="Which family is this for?", back="/",
                 families=(found := await _my_open_families(db, user)), options=_family_options(found))  # fmt: skip


@post("/buy")
async def family_submit(request: Request[Any, Any, Any], db: DbDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    draft = Draft.read(form.values, form.lists)
    families = await _my_open_families(db, user)
    if draft.family not in {f.id for f in families}:
        form.error("family", "Select the family you are buying for")
        return _step("buy_family.html.j2", user, draft, form, title="Which family is this for?", back="/",
                     families=families, options=_family_options(families))  # fmt: skip
    return Redirect(draft.url("/buy/need"), status_code=303)


# 2. Which need ----------------------------------------------------------------------------


@get("/buy/need")
async def need_step(request: Request[Any, Any, Any], db: DbDep, user: UserDep) -> Response[str]:
    draft = await _draft_from_address(request, db, user)
    family = await _family(db, user, draft)
    return _step("buy_need.html.j2", user, draft, title="Which needs does this help with?", family=family,
                 needs=await _open_needs(db, user, family), back=draft.url("/buy"))  # fmt: skip


@post("/buy/need")
async def need_submit(request: Request[Any, Any, Any], db: DbDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    draft = Draft.read(form.values, form.lists)
    family = await _family(db, user, draft)
    needs = await _open_needs(db, user, family)
    if not draft.needs or not set(draft.needs) <= {n.id for n in needs}:
        form.error("need", "Select at least one of the family's needs")
        return _step("buy_need.html.j2", user, draft, form, title="Which needs does this help with?",
                     family=family, needs=needs, back=draft.url("/buy"))  # fmt: skip
    return Redirect(draft.url("/buy/details"), status_code=303)


# 3. What, how much, where -----------------------------------------------------------------


def _details_page(user: WebUser, draft: Draft, family: Family, form: Form | None = None) -> Response[str]:
    categories = [
        (c, CATEGORIES[c].label.removeprefix("Family support - ").capitalize(), CATEGORIES[c].examples) for c in BUYABLE
    ]
    return _step("buy_details.html.j2", user, draft, form, title="What are you buying?", family=family,
                 categories=categories, methods=PAYMENT_METHODS, back=draft.url("/buy/need"))  # fmt: skip


@get("/buy/details")
async def details_step(request: Request[Any, Any, Any], db: DbDep, user: UserDep) -> Response[str]:
    draft = await _draft_from_address(request, db, user)
    return _details_page(user, draft, await _family(db, user, draft))


def _check_details(draft: Draft, form: Form) -> None:
    """Errors in the order the fields are on the page, so the summary reads top to bottom."""
    if draft.category not in BUYABLE:
        form.error("category", "Select what kind of thing you are buying")
    if not draft.description:
        form.error("description", "Enter what you are buying")
    if not draft.amount:
        form.error("amount", "Enter how much it costs")
    elif parse_pounds(draft.amount) is None:
        form.error("amount", pounds_problem(draft.amount, like="12.50"))
    if not draft.supplier:
        form.error("supplier", "Enter the shop or supplier")
    if draft.method not in PAYMENT_METHODS:
        form.error("method", "Select how it will be paid for")


@post("/buy/details")
async def details_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    draft = Draft.read(form.values, form.lists)
    family = await _family(db, user, draft)
    _check_details(draft, form)
    if draft.description:
        warning = await check_free_text(db, who=user.who, text=draft.description)
        if warning.kinds:
            form.error("description", warning.sentence)
    if not form.ok:
        return _details_page(user, draft, family, form)
    draft.amount = money(parse_pounds(draft.amount)).removeprefix("£").replace(",", "")
    await buy_drafts.keep_draft(
        db, who=user.who, key=draft.key, description=draft.description, supplier=draft.supplier, now=now
    )
    return Redirect(draft.url("/buy/check"), status_code=303)


# 4. Check your answers, and buy -----------------------------------------------------------


async def _check_page(db: DbDep, user: WebUser, now: datetime, draft: Draft, form: Form | None = None) -> Response[str]:
    family = await _family(db, user, draft)
    _, policy = await current_policy(db)
    limits = await family_limits_left(
        db, policy=policy, team_id=family.team_id, worker_id=user.who.person_id, family_id=family.id, now=now
    )
    needs = {n.id: n for n in await _open_needs(db, user, family)}
    chosen = [needs[n] for n in draft.needs if n in needs]
    return _step("buy_check.html.j2", user, draft, form, title="Check your answers before buying", family=family,
                 chosen=chosen, need_labels={c: n.label for c, n in NEEDS.items()},
                 pence=parse_pounds(draft.amount), back=draft.url("/buy/details"), limits=limits)  # fmt: skip


@get("/buy/check")
async def check_step(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[str]:
    return await _check_page(db, user, now, await _draft_from_address(request, db, user))


@post("/buy/check")
async def confirm(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    draft = Draft.read(form.values, form.lists)
    family = await _family(db, user, draft)
    _check_details(draft, form)
    if not draft.needs:
        form.error("need", "Select at least one of the family's needs")
    pence = parse_pounds(draft.amount)
    if not form.ok or pence is None:
        return await _check_page(db, user, now, draft, form)
    ask = purchases.PurchaseAsk(
        family_id=family.id,
        need_ids=draft.needs,
        category=draft.category,
        description=draft.description,
        supplier=draft.supplier,
        amount=pence,
        payment_method=draft.method,
    )

    async def act() -> str:
        bought = await buying.buy(db, who=user.who, ask=ask, now=now, ask_manager=False)
        await buy_drafts.forget_draft(db, who=user.who, key=draft.key)
        return f"/purchases/{bought.purchase.id}?done=purchase"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        form.refused("need", exc)
        return await _check_page(db, user, now, draft, form)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [family_step, family_submit, need_step, need_submit, details_step, details_submit, check_step, confirm]
