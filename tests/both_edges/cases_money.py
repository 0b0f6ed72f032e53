"""Signing in and out, and the admin's and finance's use cases: people, teams, funding sources,
the spend policy, the month. Each is sent once as the API's client sends it and once as the
page's form does."""

from __future__ import annotations

import json

from httpx import Response
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.leavers import deactivate_person
from ledger.clock import now_utc
from tests.both_edges import scenes
from tests.both_edges.edges import Case, Ids, Visit
from tests.web.test_pages import csrf_of
from wallet.demo import DEMO_PASSWORD, email

TEAM = {"name": "Crediton Early Help", "locality": "Crediton", "cost_centre": "EH-CRED",
        "department": "Children's Services - Early Help"}  # fmt: skip
PERSON = {"email": "sam.new@council.example", "display_name": "Sam New", "password": "a long first passphrase"}
RULES = [
    {"kind": "purchase_over", "effect": "needs_approval", "scope": "council", "limit": 8_000},
    {"kind": "category", "effect": "deny", "scope": "council", "categories": ["CASH", "GAMBLING", "ALCOHOL"]},
]
APPROVALS = {"second_approver_above": 20_000, "escalate_after_minutes": 10, "allowance_hours": 24,
             "receipt_reminder_days": [3, 7], "receipt_deadline_days": 14}  # fmt: skip


async def _api_sign_in(v: Visit) -> Response:
    body = {"email": email("kw.exeter.02"), "password": DEMO_PASSWORD}
    return await v.client.post("/api/v1/auth/sign-in", json=body)


async def _page_sign_in(v: Visit) -> Response:
    form = await v.client.get("/sign-in")
    data = {"csrf_token": csrf_of(form.text), "email": email("kw.exeter.02"), "password": DEMO_PASSWORD, "next": "/"}
    return await v.client.post("/sign-in", data=data)


async def _api_sign_out(v: Visit) -> Response:
    await v.api("kw.exeter.02", "GET", "/api/v1/me")
    return await v.client.post("/api/v1/auth/sign-out", headers=v.headers)


async def _page_sign_out(v: Visit) -> Response:
    return await v.page("kw.exeter.02", "/sign-out", {})


async def _api_sign_out_everywhere(v: Visit) -> Response:
    await v.api("kw.exeter.02", "GET", "/api/v1/me")
    return await v.client.post("/api/v1/auth/sign-out-everywhere", headers=v.headers)


async def _page_sign_out_everywhere(v: Visit) -> Response:
    return await v.page("kw.exeter.02", "/sign-out-everywhere", {})


async def _api_person(v: Visit) -> Response:
    made = await v.api("admin", "POST", "/api/v1/people", PERSON)
    assert made.status_code == 201, made.text
    person = made.json()["id"]
    role = {"role": "key_worker", "team_id": v.ids["team"], "open_wallet": True}
    return await v.api("admin", "POST", f"/api/v1/people/{person}/roles", role)  # 202: proposed


async def _api_policy(v: Visit) -> Response:
    return await v.api("admin", "PUT", "/api/v1/policy", {"rules": RULES, "approvals": APPROVALS, "note": "Winter"})


async def _page_policy(v: Visit) -> Response:
    document = json.dumps({"rules": RULES, "approvals": APPROVALS})
    return await v.page("admin", "/admin/policy", {"document": document, "note": "Winter"})


async def _a_leaver(db: AsyncSession, ids: Ids) -> None:
    """kw.exeter.02 has left (the identity provider deactivated them)."""
    await deactivate_person(db, actor=None, person_id=ids["kw.exeter.02"], now=now_utc())


MONEY_CASES = {
    "a key worker signs in": Case(
        tables=("sessions", "sign_in_attempts"), by_api=_api_sign_in, by_page=_page_sign_in, once=False),
    "a key worker signs out": Case(
        tables=("sessions",), by_api=_api_sign_out, by_page=_page_sign_out, once=False),
    "a key worker signs out everywhere": Case(
        tables=("sessions",), scene=scenes.signed_in_elsewhere, by_api=_api_sign_out_everywhere,
        by_page=_page_sign_out_everywhere, once=False),
    "an admin confirms finance's proposal to fund the pot": Case(
        tables=("proposals", "ledger_accounts"), scene=scenes.a_funding_proposal,
        by_api=lambda v: v.api("admin", "POST", f"/api/v1/proposals/{v.ids['proposal']}/confirmation"),
        by_page=lambda v: v.page("admin", f"/proposals/{v.ids['proposal']}", {"decision": "confirm"}),
    ),
    "an admin adds a team": Case(
        tables=("teams", "ledger_accounts"),
        by_api=lambda v: v.api("admin", "POST", "/api/v1/teams", {
            **TEAM, "default_funding_source_id": v.ids["source"]}),
        by_page=lambda v: v.page("admin", "/admin/teams/new", {**TEAM, "funding_source": str(v.ids["source"])}),
    ),
    "an admin adds a key worker with a wallet": Case(
        tables=("people", "proposals", "role_grants", "wallets", "ledger_accounts"),
        by_api=_api_person,
        by_page=lambda v: v.page("admin", "/admin/people/new", {
            **PERSON, "role": "key_worker", "team": str(v.ids["team"])}),
    ),
    "an admin adds a funding source": Case(
        tables=("funding_sources", "ledger_accounts"),
        by_api=lambda v: v.api("admin", "POST", "/api/v1/funding-sources", {"code": "troubled-families",
                                                                            "name": "Supporting Families"}),
        by_page=lambda v: v.page("admin", "/admin/funding/new", {"code": "troubled-families",
                                                                 "name": "Supporting Families"}),
    ),
    "an admin publishes the spend policy": Case(
        tables=("policy_versions", "proposals"), by_api=_api_policy, by_page=_page_policy),
    "an admin names a team's fallback approver": Case(
        tables=("approval_cover",),
        by_api=lambda v: v.api("admin", "PUT", f"/api/v1/teams/{v.ids['team']}/fallback-approver", {
            "person_id": v.ids["finance"]}),
        by_page=lambda v: v.page("admin", "/admin/cover", {"team": str(v.ids["team"]),
                                                           "person": str(v.ids["finance"])}),
    ),
    "finance explains a reconciliation exception": Case(
        tables=("reconciliation_explanations",),
        scene=scenes.an_exception_to_explain,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/periods/{v.ids['month']}/explanations", {
            "finding_key": v.ids["finding"], "explanation": "Settled in the app before the card went live"}),
        by_page=lambda v: v.page("finance", "/finance/explain", {
            "month": v.ids["month"], "finding": v.ids["finding"],
            "explanation": "Settled in the app before the card went live"}),
    ),
    "finance closes last month": Case(
        tables=("ledger_periods", "closed_reports"),
        scene=scenes.a_month_to_close,
        by_api=lambda v: v.api("finance", "POST", f"/api/v1/periods/{v.ids['month']}/close"),
        by_page=lambda v: v.page("finance", "/finance/close", {"month": v.ids["month"]}),
    ),
    "an admin deactivates a key worker who leaves": Case(
        tables=("people", "sessions", "wallets", "allocations", "ledger_accounts", "approval_requests"),
        by_api=lambda v: v.api("admin", "POST", f"/api/v1/people/{v.ids['kw.exeter.02']}/deactivation"),
        by_page=lambda v: v.page("admin", f"/admin/people/{v.ids['kw.exeter.02']}/deactivate", {}),
    ),
    "an admin reactivates a key worker": Case(
        tables=("people", "wallets"), scene=_a_leaver,
        by_api=lambda v: v.api("admin", "POST", f"/api/v1/people/{v.ids['kw.exeter.02']}/reactivation"),
        by_page=lambda v: v.page("admin", f"/admin/people/{v.ids['kw.exeter.02']}/reactivate", {}),
    ),
}  # fmt: skip
