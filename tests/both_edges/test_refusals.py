"""A page refuses as the API does: the status of ``api.errors.PROBLEMS`` for every domain error.

Two walks. First, every error of the table raised from every form's action (each case's page
form, its action replaced by one that raises): a form shown again with the refusal answers the
table's status and shows the error's words; a refusal that is not about the form (not found,
not allowed, not signed in) is the error page with the table's title. Second, real refusals
(someone else's purchase, a decided request, a taken code, a month not over…) sent through the
JSON API and through the page, which must answer the same status.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from httpx import Response

import api.web.pages
from api.errors import PROBLEMS
from api.web.forms import NOT_ABOUT_THE_FORM
from tests.both_edges import scenes
from tests.both_edges.cases_families import FAMILY_CASES
from tests.both_edges.cases_money import MONEY_CASES, TEAM
from tests.both_edges.cases_suppliers import FAILS_THE_CHECK, SUPPLIER, SUPPLIER_CASES, a_supplier_finance_registered
from tests.both_edges.edges import Action, Case, Ids, Scene, Visit, copy_of, set_the_scene, visit
from tests.web.test_error_pages import DETAIL, _raised
from wallet.clock import local_date, month_start, now_utc

FORMS: dict[str, Case] = {
    name: case for name, case in {**FAMILY_CASES, **MONEY_CASES, **SUPPLIER_CASES}.items() if case.once
}
PAGE_MODULES = [
    importlib.import_module(f"api.web.pages.{m.name}") for m in pkgutil.iter_modules(api.web.pages.__path__)
]


def _every_refusal(case: Case, raised: list[Exception]) -> Action:
    """The case's form sent once per error of the table, its action raising that error."""

    async def send(v: Visit) -> Response:
        for error in PROBLEMS:
            raised[:] = [_raised(error)]
            response = await case.by_page(v)
            v.ids.setdefault("answers", []).append((error, response))
        return response

    return send


@pytest.mark.parametrize("name", list(FORMS))
async def test_every_form_answers_a_refusal_with_the_apis_status(
    name: str, county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raised: list[Exception] = []

    async def refusing_once(*_: Any, **__: Any) -> Any:
        raise raised[0]

    for module in PAGE_MODULES:
        if hasattr(module, "once"):
            monkeypatch.setattr(module, "once", refusing_once)
    url = copy_of(county, tmp_path / "county")
    ids = await set_the_scene(url, FORMS[name].scene)
    await visit(url, ids, _every_refusal(FORMS[name], raised))

    wrong = []
    for error, response in ids["answers"]:
        status, _slug, title = PROBLEMS[error]
        words = html.escape(DETAIL[0].upper() + DETAIL[1:])
        heading = f'<h1 class="heading-l">{html.escape(title)}</h1>'
        if response.status_code != status or words not in response.text:
            wrong.append(f"{error.__name__}: {response.status_code}, the API's is {status}")
        elif status in NOT_ABOUT_THE_FORM and heading not in response.text:
            wrong.append(f"{error.__name__}: not the error page titled {title!r}")
    assert not wrong, f"{name}: " + "; ".join(wrong)


@dataclass(frozen=True)
class Refusal:
    """One refusal, as the API's client meets it and as the page's form meets it."""

    by_api: Action
    by_page: Action
    scene: Scene = scenes.a_purchase


async def _this_month(_db: Any, ids: Ids) -> None:
    ids["month"] = f"{month_start(local_date(now_utc())):%Y-%m}"


REFUSALS = {
    "someone else's purchase is cancelled": Refusal(
        by_api=lambda v: v.api("kw.exeter.02", "POST", f"/api/v1/purchases/{v.ids['purchase']}/cancellation"),
        by_page=lambda v: v.page("kw.exeter.02", f"/purchases/{v.ids['purchase']}/cancel", {}),
    ),
    "a purchase nobody approved is completed": Refusal(
        scene=scenes.a_parked_purchase,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/purchases/{v.ids['purchase']}/complete"),
        by_page=lambda v: v.page("kw.exeter.01", f"/purchases/{v.ids['purchase']}/complete", {}),
    ),
    "a decided request is decided again": Refusal(
        scene=scenes.an_approved_purchase,
        by_api=lambda v: v.api("manager.exeter", "POST", f"/api/v1/approvals/{v.ids['request']}/decision", {
            "verdict": "decline", "reason": "Changed my mind"}),
        by_page=lambda v: v.page("manager.exeter", f"/approvals/{v.ids['request']}", {
            "decision": "decline", "note": "Changed my mind"}),
    ),
    "another key worker answers a question": Refusal(
        scene=scenes.a_question_to_answer,
        by_api=lambda v: v.api("kw.exeter.02", "POST", f"/api/v1/approvals/{v.ids['request']}/messages", {
            "body": "Me too"}),
        by_page=lambda v: v.page("kw.exeter.02", f"/purchases/{v.ids['purchase']}/answer", {"answer": "Me too"}),
    ),
    "someone else's family's case is closed": Refusal(
        by_api=lambda v: v.api("kw.exeter.02", "POST", f"/api/v1/families/{v.ids['family']}/closure", {
            "reason": "outcomes_met"}),
        by_page=lambda v: v.page("kw.exeter.02", f"/families/{v.ids['family']}/close", {"reason": "outcomes_met"}),
    ),
    "a key worker clears their own receipt review": Refusal(
        scene=scenes.a_duplicate_receipt,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/reviews/{v.ids['review']}/clear", {"note": "Fine"}),
        by_page=lambda v: v.page("kw.exeter.01", f"/reviews/{v.ids['review']}", {"note": "Fine"}),
    ),
    "someone else's message is read": Refusal(
        scene=scenes.a_notification,
        by_api=lambda v: v.api("kw.exeter.02", "POST", f"/api/v1/notifications/{v.ids['notification']}/read"),
        by_page=lambda v: v.page("kw.exeter.02", f"/messages/{v.ids['notification']}", {}),
    ),
    "a manager gives more budget than the team holds": Refusal(
        by_api=lambda v: v.api("manager.exeter", "POST", "/api/v1/allocations", {
            "funding_source_id": v.ids["source"], "team_id": v.ids["team"], "wallet_id": v.ids["wallet"],
            "amount_pence": 900_000_00, "reason": "Everything"}),
        by_page=lambda v: v.page("manager.exeter", "/team/allocate", {
            "wallet": str(v.ids["wallet"]), "amount": "900000", "reason": "Everything"}),
    ),
    "an admin adds a funding source whose code is taken": Refusal(
        by_api=lambda v: v.api("admin", "POST", "/api/v1/funding-sources", {"code": "prevention", "name": "Again"}),
        by_page=lambda v: v.page("admin", "/admin/funding/new", {"code": "prevention", "name": "Again"}),
    ),
    "an admin adds a team whose name is taken": Refusal(
        by_api=lambda v: v.api("admin", "POST", "/api/v1/teams", {**TEAM, "name": "Exeter Early Help"}),
        by_page=lambda v: v.page("admin", "/admin/teams/new", {**TEAM, "name": "Exeter Early Help"}),
    ),
    "a key worker publishes the spend policy": Refusal(
        by_api=lambda v: v.api("kw.exeter.01", "PUT", "/api/v1/policy", {"rules": [], "note": "None"}),
        by_page=lambda v: v.page("kw.exeter.01", "/admin/policy", {"document": '{"rules": []}', "note": "None"}),
    ),
    "finance closes a month that has not ended": Refusal(
        scene=_this_month,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/periods/{v.ids['month']}/close"),
        by_page=lambda v: v.page("finance", "/finance/close", {"month": v.ids["month"]}),
    ),
    "finance explains an exception the month does not have": Refusal(
        scene=_this_month,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/periods/{v.ids['month']}/explanations", {
            "finding_key": "no such thing", "explanation": "Seen"}),
        by_page=lambda v: v.page("finance", "/finance/explain", {
            "month": v.ids["month"], "finding": "no such thing", "explanation": "Seen"}),
    ),
    "a key worker gives budget to a wallet": Refusal(
        by_api=lambda v: v.api("kw.exeter.01", "POST", "/api/v1/allocations", {
            "funding_source_id": v.ids["source"], "team_id": v.ids["team"], "wallet_id": v.ids["wallet"],
            "amount_pence": 5_000, "reason": "More"}),
        by_page=lambda v: v.page("kw.exeter.01", "/team/allocate", {
            "wallet": str(v.ids["wallet"]), "amount": "50", "reason": "More"}),
    ),
    "a key worker names a deputy": Refusal(
        by_api=lambda v: v.api("kw.exeter.01", "POST", "/api/v1/deputies", {
            "deputy_id": v.ids["finance"], "starts_on": "2026-12-21", "ends_on": "2027-01-02"}),
        by_page=lambda v: v.page("kw.exeter.01", "/cover", {
            "deputy": str(v.ids["finance"]), "starts_on": "2026-12-21", "ends_on": "2027-01-02"}),
    ),
    "a manager names a fallback approver": Refusal(
        by_api=lambda v: v.api("manager.exeter", "PUT", f"/api/v1/teams/{v.ids['team']}/fallback-approver", {
            "person_id": v.ids["finance"]}),
        by_page=lambda v: v.page("manager.exeter", "/admin/cover", {"team": str(v.ids["team"]),
                                                                    "person": str(v.ids["finance"])}),
    ),
    "a manager asks ahead": Refusal(
        by_api=lambda v: v.api("manager.exeter", "POST", "/api/v1/approvals", {
            "family_id": v.ids["family"], "need_ids": [v.ids["need"]], "category": "HH-ESS", "amount_pence": 18_000,
            "reason": "A cooker"}),
        by_page=lambda v: v.page("manager.exeter", f"/families/{v.ids['family']}/ask", {
            "need": str(v.ids["need"]), "category": "HH-ESS", "amount": "180.00", "reason": "A cooker"}),
    ),
    "a key worker buys for another worker's family": Refusal(
        by_api=lambda v: v.api("kw.exeter.02", "POST", "/api/v1/purchases", {
            "category": "CLOTH", "description": "Shoes", "supplier": "Clarks", "family_id": v.ids["family"],
            "need_ids": [v.ids["need"]], "amount_pence": 2_499, "payment_method": "card"}),
        by_page=lambda v: v.page("kw.exeter.02", "/buy/check", {
            "category": "CLOTH", "description": "Shoes", "supplier": "Clarks", "family": str(v.ids["family"]),
            "need": str(v.ids["need"]), "amount": "24.99", "method": "card"}),
    ),
    "a key worker buys for a closed case": Refusal(
        scene=scenes.a_closed_family,
        by_api=lambda v: v.api("kw.exeter.01", "POST", "/api/v1/purchases", {
            "category": "CLOTH", "description": "Shoes", "supplier": "Clarks", "family_id": v.ids["family"],
            "need_ids": [v.ids["need"]], "amount_pence": 2_499, "payment_method": "card"}),
        by_page=lambda v: v.page("kw.exeter.01", "/buy/check", {
            "category": "CLOTH", "description": "Shoes", "supplier": "Clarks", "family": str(v.ids["family"]),
            "need": str(v.ids["need"]), "amount": "24.99", "method": "card"}),
    ),
    "the finance person who registered a supplier confirms it": Refusal(
        scene=a_supplier_finance_registered,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/suppliers/{v.ids['supplier']}/confirmation"),
        by_page=lambda v: v.page("finance", f"/finance/suppliers/{v.ids['supplier']}/confirmation", {}),
    ),
    "finance registers a supplier whose account number fails the modulus check": Refusal(
        by_api=lambda v: v.api("finance", "POST", "/api/v1/suppliers", FAILS_THE_CHECK),
        by_page=lambda v: v.page("finance", "/finance/suppliers", FAILS_THE_CHECK),
    ),
    "a key worker registers a supplier": Refusal(
        by_api=lambda v: v.api("kw.exeter.01", "POST", "/api/v1/suppliers", SUPPLIER),
        by_page=lambda v: v.page("kw.exeter.01", "/finance/suppliers", SUPPLIER),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REFUSALS))
async def test_a_refusal_has_the_same_status_through_the_api_and_the_pages(
    name: str, county: Path, tmp_path: Path
) -> None:
    refusal = REFUSALS[name]
    url = copy_of(county, tmp_path / "county")
    ids = await set_the_scene(url, refusal.scene)
    by_api = await visit(url, ids, refusal.by_api)
    by_page = await visit(url, ids, refusal.by_page)

    assert 400 <= by_api.status_code < 500, by_api.text[:500]
    assert by_page.status_code == by_api.status_code, f"{by_api.text[:300]}\n{by_page.text[:2000]}"
