"""Who may do what to whose things: one table, for every operation the OpenAPI publishes.

Each row of ``EXPECTED`` is an operation; each column a role, seen from the object the
request is about. That object belongs to a key worker: to kw.exeter.01 (Exeter, team 1) or
to kw.torridge.01 (Torridge, team 2), and every operation about an object runs for both. For
an Exeter object the *key worker* is kw.exeter.01, the *other team's key worker*
kw.torridge.01, the *team manager* manager.exeter, the *other team's manager*
manager.torridge; for a Torridge object the other way round. Finance, the auditor and the
admin are the same people either way.

A cell is ``OK`` (any 2xx) or the one status that must come back. The rules the table keeps,
and the tests below hold it to:

* anonymous callers get 401 everywhere but ``/health`` and signing in;
* an object the caller may not see is 404, never 403 and never 200;
* the auditor changes nothing but their own sign-in and API tokens;
* finance sees money but no family or need (404 on those, ``need_ids`` null on purchases);
* only admins see the restricted case-system link.

The operations come from the app's OpenAPI, so a new endpoint without a row fails here.
Requests are made with the browser session (cookie plus X-CSRF-Token) and an
Idempotency-Key on every POST. A request that uses something up (closing a case, adding a
worker, cancelling, settling or refunding a purchase, revoking a token, signing out,
granting a role, opening a wallet) gets a fresh object for every role, so no case depends on
another's leftovers; the others add to the patch's shared objects without changing what any
case sees (a need, a review, a receipt, the same case link, the same policy again). The
county is this module's own, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.jobs import JobContext, review_receipts
from ledger.database import create_engine
from tests import databases, receipt_files
from tests.api.conftest import SMALL_COUNTY, settings_for
from tests.cards.fake_stripe import templates
from tests.cards.support import request_event, signed
from tests.conftest import IN_CI
from wallet import budgets
from wallet.access import load_principal
from wallet.clock import LONDON, now_utc
from wallet.demo import DEMO_PASSWORD, email
from wallet.organisation import create_person, grant_role
from wallet.paying import suppliers

# The table --------------------------------------------------------------------------------

OK: Literal["2xx"] = "2xx"
Expect = Literal["2xx", 401, 403, 404]
Row = tuple[Expect, Expect, Expect, Expect, Expect, Expect, Expect, Expect]

ROLES = (
    "anonymous",
    "key worker",
    "other team's key worker",
    "team manager",
    "other team's manager",
    "finance",
    "auditor",
    "admin",
)

# fmt: off
EXPECTED: dict[str, Row] = {
    #                                                      anon kw   okw  mgr  omgr fin  aud  adm
    #   okw: the other team's key worker, omgr: the other team's manager
    "GET /health":                                        (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /health/live":                                   (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /health/ready":                                  (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    # A subject access request's export of everything held about a family: the admin's alone.
    "POST /api/v1/subject-access-exports":                (401, 403, 403, 403, 403, 403, 403, OK),
    "POST /api/v1/auth/sign-in":                          (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    # Signing out and one's own API tokens are personal: the auditor may manage theirs.
    "POST /api/v1/auth/sign-out":                         (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/auth/sign-out-everywhere":              (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/me":                                     (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/me/tokens":                              (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/me/tokens":                             (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "DELETE /api/v1/me/tokens/{token_id}":                (401, OK,  404, 404, 404, 404, 404, 404),
    # The organisation is public to staff; changing it is the admin's.
    "GET /api/v1/teams":                                  (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/teams/{team_id}":                        (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/teams":                                 (401, 403, 403, 403, 403, 403, 403, OK),
    "GET /api/v1/people":                                 (401, 403, 403, 403, 403, 403, OK,  OK),
    "POST /api/v1/people":                                (401, 403, 403, 403, 403, 403, 403, OK),
    # Granting a role is proposed by an admin (202) and confirmed by another (wallet.duties).
    "POST /api/v1/people/{person_id}/roles":              (401, 403, 403, 403, 403, 403, 403, OK),
    # Roles taken back, leavers and their return: the admin's alone.
    "POST /api/v1/people/{person_id}/deactivation":       (401, 403, 403, 403, 403, 403, 403, OK),
    "POST /api/v1/people/{person_id}/reactivation":       (401, 403, 403, 403, 403, 403, 403, OK),
    "DELETE /api/v1/people/{person_id}/roles/{role}":     (401, 403, 403, 403, 403, 403, 403, OK),
    "POST /api/v1/wallets":                               (401, 403, 403, 403, 403, 403, 403, OK),
    # Money in: finance (and the admin).
    "GET /api/v1/funding-sources":                        (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/funding-sources":                       (401, 403, 403, 403, 403, OK,  403, OK),
    "POST /api/v1/funding-sources/{source_id}/funding":   (401, 403, 403, 403, 403, OK,  403, OK),
    "PUT /api/v1/funding-sources/{source_id}/conditions": (401, 403, 403, 403, 403, OK,  403, OK),
    "POST /api/v1/funding-sources/{source_id}/claw-back":  (401, 403, 403, 403, 403, OK,  403, 403),
    # The council's redaction lists are the admin's; anyone signed in may check free text; a key
    # worker says which of their families they are buying for (no one else holds a wallet).
    "GET /api/v1/redaction-terms":                        (401, 403, 403, 403, 403, 403, 403, OK),
    "POST /api/v1/redaction-terms":                       (401, 403, 403, 403, 403, 403, 403, OK),
    "DELETE /api/v1/redaction-terms/{term_id}":           (401, 403, 403, 403, 403, 403, 403, OK),
    # Finance's GL settings: read by finance, the auditor and the admin; changed by finance and the admin.
    "GET /api/v1/finance-settings":                       (401, 403, 403, 403, 403, OK,  OK,  OK),
    "PUT /api/v1/finance-settings":                       (401, 403, 403, 403, 403, OK,  403, OK),
    "POST /api/v1/free-text-check":                       (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/me/buying-for":                         (401, OK,  404, 403, 404, 404, 403, 403),
    "DELETE /api/v1/me/buying-for":                       (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    # Two-person changes: read by those who propose, confirm or oversee them; a funding proposal
    # made by finance is confirmed or refused by someone else (here the admin), never by finance.
    "GET /api/v1/proposals":                              (401, 403, 403, 403, 403, OK,  OK,  OK),
    "GET /api/v1/proposals/{proposal_id}":                (401, 403, 403, 403, 403, OK,  OK,  OK),
    "POST /api/v1/proposals/{proposal_id}/confirmation":  (401, 403, 403, 403, 403, 403, 403, OK),
    "POST /api/v1/proposals/{proposal_id}/refusal":       (401, 403, 403, 403, 403, 403, 403, OK),
    # Wallets: one's own, one's team's, or all of them for those who see all money.
    "GET /api/v1/wallets":                                (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/wallets/{wallet_id}":                    (401, OK,  404, OK,  404, OK,  OK,  OK),
    "GET /api/v1/allocations":                            (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/allocations":                           (401, 403, 404, OK,  404, OK,  403, OK),
    "POST /api/v1/wallets/{wallet_id}/returns":           (401, 403, 404, OK,  404, OK,  403, OK),
    # Families and needs: those who work with them, their managers, the auditor and the admin.
    "GET /api/v1/families":                               (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/families":                              (401, OK,  403, OK,  403, 403, 403, 403),
    "GET /api/v1/families/{family_id}":                   (401, OK,  404, OK,  404, 404, OK,  OK),
    "POST /api/v1/families/{family_id}/closure":          (401, OK,  404, OK,  404, 404, 403, 403),
    "POST /api/v1/families/{family_id}/workers":          (401, 403, 404, OK,  404, 404, 403, 403),
    # The six-month check of a closed case: seen as the family is, recorded by those who work with it.
    "GET /api/v1/families/{family_id}/six-month-check":   (401, OK,  404, OK,  404, 404, OK,  OK),
    "POST /api/v1/families/{family_id}/six-month-check":  (401, OK,  404, OK,  404, 404, 403, 403),
    "GET /api/v1/families/{family_id}/needs":             (401, OK,  404, OK,  404, 404, OK,  OK),
    "POST /api/v1/families/{family_id}/needs":            (401, OK,  404, OK,  404, 404, 403, 403),
    "GET /api/v1/families/{family_id}/case-link":         (401, 404, 404, 404, 404, 404, 404, OK),
    "PUT /api/v1/families/{family_id}/case-link":         (401, 404, 404, 404, 404, 404, 404, OK),
    "GET /api/v1/needs/{need_id}":                        (401, OK,  404, OK,  404, 404, OK,  OK),
    "GET /api/v1/needs/{need_id}/reviews":                (401, OK,  404, OK,  404, 404, OK,  OK),
    "POST /api/v1/needs/{need_id}/reviews":               (401, OK,  404, OK,  404, 404, 403, 403),
    # Purchases: the buyer's, the families' workers', the team's, finance's (to settle).
    "GET /api/v1/purchases":                              (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/purchases":                             (401, OK,  404, 403, 404, 404, 403, 403),
    "GET /api/v1/purchases/{purchase_id}":                (401, OK,  404, OK,  404, OK,  OK,  OK),
    "POST /api/v1/purchases/{purchase_id}/cancellation":  (401, OK,  404, OK,  404, 403, 403, 403),
    "POST /api/v1/purchases/{purchase_id}/capture":       (401, 403, 404, 403, 404, OK,  403, 403),
    "POST /api/v1/purchases/{purchase_id}/refunds":       (401, 403, 404, 403, 404, OK,  403, 403),
    "GET /api/v1/purchases/{purchase_id}/receipts":       (401, OK,  404, OK,  404, OK,  OK,  OK),
    "POST /api/v1/purchases/{purchase_id}/receipts":      (401, OK,  404, OK,  404, 403, 403, 403),
    "GET /api/v1/receipts/{receipt_id}":                  (401, OK,  404, OK,  404, OK,  OK,  OK),
    # The spend policy is read by all and written by the admin; the audit log is for oversight.
    "GET /api/v1/policy":                                 (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "PUT /api/v1/policy":                                 (401, 403, 403, 403, 403, 403, 403, OK),
    "GET /api/v1/policy/versions":                        (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/audit":                                  (401, 403, 403, 403, 403, 403, OK,  OK),
    "GET /api/v1/codes/needs":                            (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/codes/purchase-categories":              (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    # Finance's month: reports for finance, the auditor and the admin; finance explains and closes.
    "GET /api/v1/reports/{month}/{name}":                 (401, 403, 403, 403, 403, OK,  OK,  OK),
    # The annual evidence report (aggregates, suppressed): for leaders, not key workers.
    "GET /api/v1/reports/annual/{year}":                  (401, 403, 403, OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/reports/annual/{year}/{file_format}":    (401, 403, 403, OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/periods/{month}":                        (401, 403, 403, 403, 403, OK,  OK,  OK),
    "POST /api/v1/periods/{month}/explanations":          (401, 403, 403, 403, 403, OK,  403, 403),
    "POST /api/v1/periods/{month}/close":                 (401, 403, 403, 403, 403, OK,  403, 403),
    # Cards: the key worker's own, their manager's, the admin's; finance and the auditor only look.
    "GET /api/v1/cards":                                  (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/cards/{card_id}":                        (401, OK,  404, OK,  404, OK,  OK,  OK),
    "POST /api/v1/wallets/{wallet_id}/cards":             (401, OK,  404, OK,  404, 403, 403, OK),
    "POST /api/v1/cards/{card_id}/freeze":                (401, OK,  404, OK,  404, 403, 403, OK),
    "POST /api/v1/cards/{card_id}/unfreeze":              (401, OK,  404, OK,  404, 403, 403, OK),
    "POST /api/v1/cards/{card_id}/cancellation":          (401, OK,  404, OK,  404, 403, 403, OK),
    "POST /api/v1/cards/{card_id}/replacement":           (401, OK,  404, OK,  404, 403, 403, OK),
    # Only the card's own key worker sees its details or activates it: not even its manager or the admin.
    "POST /api/v1/cards/{card_id}/details-key":           (401, OK,  404, 403, 404, 403, 403, 403),
    "POST /api/v1/cards/{card_id}/activation":            (401, OK,  404, 403, 404, 403, 403, 403),
    # Only the key worker who paid says which family a card purchase was for.
    "POST /api/v1/purchases/{purchase_id}/family":        (401, OK,  404, 403, 404, 403, 403, 403),
    # A card refund to match: the key worker whose wallet it is, or finance, says where it goes.
    "GET /api/v1/card-refunds/to-match":                  (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/card-refunds/{refund_id}/purchase":     (401, OK,  404, 403, 404, OK,  403, 403),
    # Approvals: the worker asks; their team's managers decide; finance may give a second approval.
    "POST /api/v1/approvals":                             (401, OK,  404, 403, 404, 404, 403, 403),
    "GET /api/v1/approvals":                              (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/approvals/{request_id}":                 (401, OK,  404, OK,  404, OK,  OK,  OK),
    "POST /api/v1/approvals/{request_id}/decision":       (401, 403, 404, OK,  404, 403, 403, 403),
    "POST /api/v1/approvals/{request_id}/questions":      (401, 403, 404, OK,  404, 403, 403, 403),
    "POST /api/v1/approvals/{request_id}/messages":       (401, OK,  404, OK,  404, OK,  403, OK),
    "POST /api/v1/approvals/{request_id}/cancel":         (401, OK,  404, 403, 404, 403, 403, 403),
    "POST /api/v1/purchases/{purchase_id}/complete":      (401, OK,  404, 403, 404, 404, 403, 403),
    "GET /api/v1/allowances":                             (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "PUT /api/v1/teams/{team_id}/fallback-approver":      (401, 403, 403, 403, 403, 403, 403, OK),
    "PUT /api/v1/teams/{team_id}/office-address":         (401, 403, 403, 403, 403, 403, 403, OK),
    "PUT /api/v1/people/{person_id}/work-mobile":         (401, 403, 403, 403, 403, 403, 403, OK),
    "GET /api/v1/people/{person_id}/bank-accounts":       (401, OK,  403, 403, 403, OK,  OK,  403),
    "POST /api/v1/people/{person_id}/bank-accounts":      (401, OK,  403, 403, 403, OK,  403, 403),
    "POST /api/v1/worker-bank-accounts/{account_id}/decision": (401, 403, 403, 403, 403, OK, 403, 403),
    "POST /api/v1/deputies":                              (401, 403, 403, OK,  OK,  403, 403, 403),
    "GET /api/v1/deputies":                               (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /api/v1/reviews":                                (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/reviews/{review_id}/clear":             (401, 403, 404, OK,  404, 403, 403, 403),
    "GET /api/v1/notifications":                          (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /api/v1/notifications/{notification_id}/read":  (401, OK,  404, 404, 404, 404, 404, 404),
    # Paying suppliers: finance keeps the register (a second finance person confirms), the key
    # worker says who their invoice or reimbursement pays, finance approves and pays; the auditor reads the files.
    "GET /api/v1/suppliers":                              (401, OK,  OK,  403, 403, OK,  OK,  OK),
    "POST /api/v1/suppliers":                             (401, 403, 403, 403, 403, OK,  403, 403),
    "POST /api/v1/suppliers/{supplier_id}/confirmation":  (401, 403, 403, 403, 403, OK,  403, 403),
    "POST /api/v1/suppliers/{supplier_id}/bank-details":  (401, 403, 403, 403, 403, OK,  403, 403),
    "POST /api/v1/bank-details-changes/{change_id}/decision": (401, 403, 403, 403, 403, OK, 403, 403),
    "POST /api/v1/purchases/{purchase_id}/payee":         (401, OK,  404, 403, 404, 403, 403, 403),
    "POST /api/v1/purchases/{purchase_id}/payment-approval": (401, 403, 404, 403, 404, OK, 403, 403),
    "POST /api/v1/purchases/{purchase_id}/returned-payment": (401, 403, 404, 403, 404, OK, 403, 403),
    "POST /api/v1/payment-runs":                          (401, 403, 403, 403, 403, OK,  403, 403),
    "POST /api/v1/payment-runs/{run_id}/payment":         (401, 403, 403, 403, 403, OK,  403, 403),
    "GET /api/v1/payment-runs/{run_id}/{name}":           (401, 403, 403, 403, 403, OK,  OK,  403),
}
# fmt: on

#: Changes the auditor may make: to their own sign-in and API tokens, nothing else.
PERSONAL = {
    "POST /api/v1/auth/sign-in",
    "POST /api/v1/auth/sign-out",
    "POST /api/v1/auth/sign-out-everywhere",
    "POST /api/v1/me/tokens",
    "DELETE /api/v1/me/tokens/{token_id}",
    "POST /api/v1/free-text-check",  # changes nothing: a POST only so the text never goes in an address
    "DELETE /api/v1/me/buying-for",
}
#: Path ids of things that belong to a key worker's patch: unseen, they are not found.
PRIVATE_IDS = {
    "family_id", "need_id", "purchase_id", "receipt_id", "wallet_id", "token_id", "request_id", "review_id",
    "notification_id",
}  # fmt: skip
#: Operations whose body names a patch's team, wallet or family.
ABOUT_A_PATCH_IN_THE_BODY = {
    "POST /api/v1/families", "POST /api/v1/purchases", "POST /api/v1/allocations", "POST /api/v1/approvals",
}  # fmt: skip
TARGETS = ("exeter", "torridge")


def _published_operations() -> list[str]:
    """Every ``METHOD /path`` in the app's OpenAPI (building the app touches no database)."""
    document = create_app(settings_for("sqlite+aiosqlite:///unused.db")).openapi_schema.to_schema()
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sorted(f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item if m in methods)


OPERATIONS = _published_operations()


def path_of(operation: str) -> str:
    return operation.split(" ", 1)[1]


def method_of(operation: str) -> str:
    return operation.split(" ", 1)[0]


def path_ids(operation: str) -> list[str]:
    return re.findall(r"{(\w+)}", path_of(operation))


def targets_of(operation: str) -> tuple[str, ...]:
    """Both patches when the request is about one of them; otherwise one run is enough."""
    if PRIVATE_IDS.intersection(path_ids(operation)) or "team_id" in path_ids(operation):
        return TARGETS
    return TARGETS if operation in ABOUT_A_PATCH_IN_THE_BODY else TARGETS[:1]


def account_of(role: str, target: str) -> str | None:
    """The demo account playing ``role`` towards an object of the ``target`` patch."""
    other = "torridge" if target == "exeter" else "exeter"
    return {
        "anonymous": None,
        "key worker": f"kw.{target}.01",
        "other team's key worker": f"kw.{other}.01",
        "team manager": f"manager.{target}",
        "other team's manager": f"manager.{other}",
        "finance": "finance",
        "auditor": "auditor",
        "admin": "admin",
    }[role]


def matches(expected: Expect, status: int) -> bool:
    return 200 <= status < 300 if expected == OK else status == expected


# The world each request is made in ---------------------------------------------------------

PNG = receipt_files.png("a receipt for the matrix")


@dataclass(frozen=True)
class Session:
    """A signed-in browser session: its cookie, and the CSRF token for changes."""

    cookie: str
    csrf: str
    person_id: int
    wallet_id: int | None


@dataclass(frozen=True)
class Patch:
    """A key worker's things: their team, wallet, a family with a need, a purchase with a receipt."""

    team_id: int
    owner: str
    owner_id: int
    second_worker_id: int
    wallet_id: int
    family_id: int
    family_reference: str
    need_id: int
    purchase_id: int
    receipt_id: int


@dataclass(frozen=True)
class World:
    url: str
    sessions: dict[str, Session]
    patches: dict[str, Patch]
    funding_source_id: int
    policy_rules: list[dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """What a request carries beyond the shared ids: ids of fresh objects, a body, another session."""

    ids: Mapping[str, int | str] = field(default_factory=dict)
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    session: Session | None = None


class Scene:
    """One test's client on the world, and the fresh objects a request may need."""

    def __init__(self, client: AsyncTestClient[Any], world: World) -> None:
        self.client = client
        self.world = world

    async def send(self, method: str, path: str, session: Session | None, **kwargs: Any) -> Response:
        """One request as ``session`` (``None``: anonymous), with an Idempotency-Key on POSTs."""
        headers: dict[str, str] = {}
        if session is not None:
            headers["cookie"] = f"tide_session={session.cookie}"
            if session.csrf:
                headers["x-csrf-token"] = session.csrf
        if method == "POST":
            headers["idempotency-key"] = uuid.uuid4().hex
        self.client.cookies.clear()  # only the session named here may sign the request
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def create(self, account: str, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
        response = await self.send("POST", path, self.world.sessions[account], json=body, **kwargs)
        assert response.status_code in (200, 201, 202), f"setting up: POST {path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def sign_in(self, account: str) -> Session:
        return await sign_in_session(self.client, account)

    async def fresh_family(self, target: str) -> int:
        patch = self.world.patches[target]
        family = await self.create(patch.owner, "/api/v1/families", family_body(patch))
        return int(family["id"])

    async def fresh_closed_family(self, target: str) -> int:
        family_id = await self.fresh_family(target)
        await self.create(
            self.world.patches[target].owner, f"/api/v1/families/{family_id}/closure", {"reason": "disengaged"}
        )
        return family_id

    async def fresh_purchase(self, target: str) -> int:
        patch = self.world.patches[target]
        decision = await self.create(patch.owner, "/api/v1/purchases", purchase_body(patch))
        assert decision["purchase"]["status"] == "held", decision
        return int(decision["purchase"]["id"])

    async def fresh_settled_purchase(self, target: str) -> int:
        purchase_id = await self.fresh_purchase(target)
        await self.create("finance", f"/api/v1/purchases/{purchase_id}/capture", {"amount_pence": 100})
        return purchase_id

    async def fresh_token(self, target: str) -> int:
        token = await self.create(self.world.patches[target].owner, "/api/v1/me/tokens", {"name": "matrix"})
        return int(token["id"])

    async def fresh_person(self) -> int:
        name = uuid.uuid4().hex[:12]
        body = {"email": f"{name}@matrix.invalid", "display_name": f"Matrix {name}", "password": "a long password"}
        return int((await self.create("admin", "/api/v1/people", body))["id"])


async def sign_in_session(client: AsyncTestClient[Any], account: str) -> Session:
    client.cookies.clear()
    response = await client.post("/api/v1/auth/sign-in", json={"email": email(account), "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    cookie = response.cookies.get("tide_session")
    assert cookie, "signing in sets the session cookie"
    client.cookies.clear()
    signed_in = response.json()
    person = signed_in["person"]
    return Session(cookie=cookie, csrf=signed_in["csrf_token"], person_id=person["id"], wallet_id=person["wallet_id"])


def family_body(patch: Patch) -> dict[str, Any]:
    """A family for the patch's team, led by the patch's key worker (whoever opens it)."""
    locality = "Exeter" if patch.team_id == 1 else "Torridge"
    return {"team_id": patch.team_id, "lead_worker_id": patch.owner_id, "locality": locality, "age_bands": ["5-10"]}


def need_body() -> dict[str, Any]:
    return {
        "code": "EDU-ATT",
        "whose": "child",
        "identified_on": "2026-11-01",
        "evidence_source": "school",
        "baseline_score": 4,
    }


def purchase_body(patch: Patch) -> dict[str, Any]:
    return {
        "family_id": patch.family_id,
        "need_ids": [patch.need_id],
        "category": "CLOTH",
        "description": "School shoes",
        "supplier": "Clarks",
        "amount_pence": 100,
        "payment_method": "card",
    }


def receipt_file() -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("till.png", PNG + uuid.uuid4().bytes, "image/png")}


# How each operation's request is built ------------------------------------------------------

Builder = Callable[[Scene, str, str | None], Awaitable[Call]]


def body(make: Callable[[Scene, Patch], Any]) -> Builder:
    """A request about the target patch's shared objects, with the body ``make`` gives."""

    async def build(scene: Scene, target: str, _account: str | None) -> Call:
        return Call(json=make(scene, scene.world.patches[target]))

    return build


async def fresh_session(scene: Scene, _target: str, account: str | None) -> Call:
    return Call(session=None if account is None else await scene.sign_in(account))


async def fresh_token(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"token_id": await scene.fresh_token(target)})


async def fresh_redaction_term(scene: Scene, _target: str, _account: str | None) -> Call:
    term = await scene.create("admin", "/api/v1/redaction-terms", {"list_name": "surnames", "term": _unique()})
    return Call(ids={"term_id": int(term["id"])})


async def fresh_person_role(scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"person_id": await scene.fresh_person()}, json={"role": "finance"})


async def fresh_person_to_deactivate(scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"person_id": await scene.fresh_person()})


async def fresh_person_mobile(scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"person_id": await scene.fresh_person()}, json={"work_mobile": "07700 900123"})


WORKER_BANK_BODY = {"sort_code": "08-99-99", "account_number": "66374958"}


async def owners_bank_account(scene: Scene, target: str, _account: str | None) -> Call:
    """The patch's key worker's own bank account (proposing one more adds a pending one)."""
    owner = scene.world.sessions[scene.world.patches[target].owner].person_id
    return Call(ids={"person_id": owner}, json=WORKER_BANK_BODY)


async def fresh_worker_bank_account(scene: Scene, target: str, _account: str | None) -> Call:
    """A bank account the patch's key worker proposed for themselves, for finance to decide."""
    patch = scene.world.patches[target]
    owner = scene.world.sessions[patch.owner].person_id
    made = await scene.create(patch.owner, f"/api/v1/people/{owner}/bank-accounts", WORKER_BANK_BODY)
    return Call(ids={"account_id": int(made["id"])}, json={"confirm": False})


async def fresh_deactivated_person(scene: Scene, _target: str, _account: str | None) -> Call:
    person_id = await scene.fresh_person()
    await scene.create("admin", f"/api/v1/people/{person_id}/deactivation", None)
    return Call(ids={"person_id": person_id})


async def fresh_person_with_a_role(scene: Scene, _target: str, _account: str | None) -> Call:
    """A new person granted the auditor's role by the system (granting through the API needs a
    second admin, and the county has one)."""
    person_id = await scene.fresh_person()
    engine = create_engine(scene.world.url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            await grant_role(db, actor=None, person_id=person_id, role="auditor", team_id=None, now=now_utc())
            await db.commit()
    finally:
        await engine.dispose()
    return Call(ids={"person_id": person_id, "role": "auditor"})


async def fresh_funding_proposal(scene: Scene, _target: str, _account: str | None) -> Call:
    """Finance proposes funding above the threshold (a second person must confirm it)."""
    path = f"/api/v1/funding-sources/{scene.world.funding_source_id}/funding"
    proposal = await scene.create("finance", path, {"amount_pence": 2_000_000, "reason": "Matrix grant"})
    return Call(ids={"proposal_id": int(proposal["id"])})


async def fresh_grant_to_claw_back(scene: Scene, _target: str, _account: str | None) -> Call:
    """A grant with claw-back that ended yesterday, with money left in its pot (set up by the
    system: funding it through the API would need a second person above the threshold)."""
    engine = create_engine(scene.world.url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            now, tag = now_utc(), _unique()
            source = await budgets.create_funding_source(db, actor=None, code=f"cb-{tag}", name="Matrix Grant", now=now)
            funded = await budgets.fund_pot(
                db, actor=None, funding_source_id=source.id, transfer_id=f"matrix:cb:{tag}", amount=500, reason="t",
                now=now,
            )  # fmt: skip
            assert funded.accepted
            source.ends_on, source.claw_back_unspent = now.astimezone(LONDON).date() - timedelta(days=1), True
            source_id = source.id
            await db.commit()
            return Call(ids={"source_id": source_id})
    finally:
        await engine.dispose()


async def fresh_person_wallet(scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(json={"person_id": await scene.fresh_person(), "team_id": 1})


async def fresh_family_closure(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"family_id": await scene.fresh_family(target)}, json={"reason": "outcomes_met"})


async def fresh_closed_family(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"family_id": await scene.fresh_closed_family(target)})


async def fresh_six_month_check(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"family_id": await scene.fresh_closed_family(target)}, json={"result": "sustained"})


async def fresh_family_worker(scene: Scene, target: str, _account: str | None) -> Call:
    family_id = await scene.fresh_family(target)
    return Call(ids={"family_id": family_id}, json={"person_id": scene.world.patches[target].second_worker_id})


async def fresh_purchase_cancellation(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"purchase_id": await scene.fresh_purchase(target)})


async def fresh_purchase_capture(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"purchase_id": await scene.fresh_purchase(target)}, json={"amount_pence": 100})


async def fresh_purchase_refund(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"purchase_id": await scene.fresh_settled_purchase(target)}, json={"amount_pence": 100})


async def receipt_upload(_scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(files=receipt_file())


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def this_month() -> str:
    return now_utc().astimezone(LONDON).strftime("%Y-%m")


async def this_months_report(_scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"month": this_month(), "name": "transparency.csv"})


async def this_years_evidence(_scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"year": "2025"})


async def this_years_evidence_csv(_scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"year": "2025", "file_format": "csv"})


async def this_months_period(_scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"month": this_month()})


async def fresh_over_capture_explanation(scene: Scene, target: str, _account: str | None) -> Call:
    """An exception to explain: a purchase captured above its hold this month."""
    purchase_id = await scene.fresh_purchase(target)
    await scene.create("finance", f"/api/v1/purchases/{purchase_id}/capture", {"amount_pence": 150})
    explanation = {"finding_key": f"over-capture:purchase {purchase_id}", "explanation": "Delivery charge added"}
    return Call(ids={"month": this_month()}, json=explanation)


async def quiet_month_close(_scene: Scene, _target: str, _account: str | None) -> Call:
    """A long-past month with nothing in it: clean, so finance may close it (again)."""
    return Call(ids={"month": "2001-01"})


def advance_body(patch: Patch) -> dict[str, Any]:
    return {
        "family_id": patch.family_id,
        "need_ids": [patch.need_id],
        "category": "HH-ESS",
        "amount_pence": 15_000,
        "reason": "A bed for the children",
    }


async def fresh_case(scene: Scene, target: str) -> Patch:
    """The target's patch with a new family and need of its own (so no cap or allowance carries over)."""
    patch = scene.world.patches[target]
    family_id = await scene.fresh_family(target)
    need = await scene.create(patch.owner, f"/api/v1/families/{family_id}/needs", need_body())
    return replace(patch, family_id=family_id, need_id=int(need["id"]))


async def fresh_request_id(scene: Scene, target: str) -> int:
    """An approval request the target's key worker has just raised, waiting for a manager."""
    patch = await fresh_case(scene, target)
    return int((await scene.create(patch.owner, "/api/v1/approvals", advance_body(patch)))["id"])


async def fresh_request(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"request_id": await fresh_request_id(scene, target)})


async def fresh_request_decision(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"request_id": await fresh_request_id(scene, target)}, json={"verdict": "approve"})


async def fresh_request_message(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"request_id": await fresh_request_id(scene, target)}, json={"body": "Which shop?"})


async def fresh_approved_parked_purchase(scene: Scene, target: str, _account: str | None) -> Call:
    """A purchase parked for approval whose request the manager has approved."""
    patch = await fresh_case(scene, target)
    body = {**purchase_body(patch), "amount_pence": 15_000}
    made = await scene.send("POST", "/api/v1/purchases", scene.world.sessions[patch.owner], json=body)
    assert made.status_code == 202, f"setting up: a parked purchase: {made.text}"
    parked = made.json()
    manager = f"manager.{target}"
    await scene.create(manager, f"/api/v1/approvals/{parked['approval_request_id']}/decision", {"verdict": "approve"})
    return Call(ids={"purchase_id": int(parked["purchase"]["id"])})


async def fresh_open_review(scene: Scene, target: str, _account: str | None) -> Call:
    """A settled £50 purchase with no receipt (one is required above £10), swept into the review queue."""
    patch = await fresh_case(scene, target)
    made = await scene.create(patch.owner, "/api/v1/purchases", {**purchase_body(patch), "amount_pence": 5_000})
    purchase_id = int(made["purchase"]["id"])
    await scene.create("finance", f"/api/v1/purchases/{purchase_id}/capture", {"amount_pence": 5_000})
    engine = create_engine(scene.world.url, pool_size=1)
    try:
        await review_receipts(
            JobContext(sessionmaker=async_sessionmaker(engine, expire_on_commit=False), clock=now_utc, mailer=None)
        )
    finally:
        await engine.dispose()
    reviews = await scene.send("GET", "/api/v1/reviews", scene.world.sessions[f"manager.{target}"])
    review_id = next(r["id"] for r in reviews.json() if r["purchase_id"] == purchase_id)
    return Call(ids={"review_id": review_id}, json={"note": "Receipt seen on paper"})


async def fresh_notification(scene: Scene, target: str, _account: str | None) -> Call:
    """A notification to the target's key worker: their request was approved."""
    request_id = await fresh_request_id(scene, target)
    await scene.create(f"manager.{target}", f"/api/v1/approvals/{request_id}/decision", {"verdict": "approve"})
    owner = scene.world.patches[target].owner
    mine = await scene.send("GET", "/api/v1/notifications", scene.world.sessions[owner])
    return Call(ids={"notification_id": max(n["id"] for n in mine.json())})


async def fallback_body(scene: Scene, target: str, _account: str | None) -> Call:
    other = "torridge" if target == "exeter" else "exeter"
    return Call(json={"person_id": scene.world.sessions[f"manager.{other}"].person_id})


async def deputy_body(scene: Scene, _target: str, _account: str | None) -> Call:
    today = now_utc().astimezone(LONDON).date().isoformat()
    return Call(json={"deputy_id": scene.world.sessions["finance"].person_id, "starts_on": today, "ends_on": today})


# Cards (card management talks to the offline fake Stripe: see tests/api/conftest.py) -----------


async def _fresh_card(scene: Scene, target: str) -> dict[str, Any]:
    patch = scene.world.patches[target]
    return await scene.create(patch.owner, f"/api/v1/wallets/{patch.wallet_id}/cards", {"type": "virtual"})


async def fresh_card(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"card_id": int((await _fresh_card(scene, target))["id"])})


async def fresh_frozen_card(scene: Scene, target: str, _account: str | None) -> Call:
    card = await _fresh_card(scene, target)
    await scene.create(scene.world.patches[target].owner, f"/api/v1/cards/{card['id']}/freeze", None)
    return Call(ids={"card_id": int(card["id"])})


async def fresh_card_replacement(scene: Scene, target: str, account: str | None) -> Call:
    return replace(await fresh_card(scene, target, account), json={"reason": "lost"})


async def fresh_card_nonce(scene: Scene, target: str, account: str | None) -> Call:
    """A card, and a nonce as Stripe.js makes one (each is good for one key)."""
    return replace(await fresh_card(scene, target, account), json={"nonce": f"ephkn_pub_{uuid.uuid4().hex}"})


async def fresh_physical_card(scene: Scene, target: str, _account: str | None) -> Call:
    """A physical card posted to the team's office, not activated yet."""
    patch = scene.world.patches[target]
    card = await scene.create(patch.owner, f"/api/v1/wallets/{patch.wallet_id}/cards", {"type": "physical"})
    return Call(ids={"card_id": int(card["id"])})


async def fresh_card_purchase(scene: Scene, target: str, _account: str | None) -> Call:
    """A card payment at a till (Stripe's signed request to the app), waiting for its family."""
    patch = scene.world.patches[target]
    card = await _fresh_card(scene, target)
    # No family stated (another case may have stated one): the purchase waits for its family.
    await scene.send("DELETE", "/api/v1/me/buying-for", scene.world.sessions[patch.owner])
    content, headers = signed(request_event(card["stripe_id"], 100), os.environ["TIDE_STRIPE_AUTHORIZATION_SECRET"])
    scene.client.cookies.clear()
    answer = await scene.client.post("/stripe/issuing/authorization", content=content, headers=headers)
    assert answer.json()["approved"] is True, f"setting up: {answer.text}"
    listed = await scene.send("GET", "/api/v1/purchases?limit=200", scene.world.sessions[patch.owner])
    waiting = [p["id"] for p in listed.json()["items"] if p["family_id"] is None and p["status"] == "held"]
    return Call(ids={"purchase_id": max(waiting)}, json={"family_id": patch.family_id, "need_ids": [patch.need_id]})


def _card_transaction(card: str, kind: str, amount: int, *, authorization: str | None, merchant: str) -> dict[str, Any]:
    """Stripe's ``issuing_transaction.created`` for a card transaction, shaped as its example."""
    txn = copy.deepcopy(templates()["issuing.transaction"])
    txn.update(
        id=f"ipi_matrix{uuid.uuid4().hex[:16]}", type=kind, amount=-amount if kind == "capture" else amount,
        card=card, authorization=authorization, created=int(now_utc().timestamp()), currency="gbp",
    )  # fmt: skip
    txn["merchant_data"].update(name=merchant, network_id=None, category="shoe_stores", category_code="5661")
    event = request_event(card, amount)
    event.update(type="issuing_transaction.created", data={"object": txn})
    return event


async def fresh_refund_to_match(scene: Scene, target: str, _account: str | None) -> Call:
    """A card purchase captured, and a refund from a merchant Tide never paid, to match to it."""
    stripe_card = str((await _fresh_card(scene, target))["stripe_id"])
    owner = scene.world.sessions[scene.world.patches[target].owner]
    secret = os.environ["TIDE_STRIPE_WEBHOOK_SECRET"]
    for event in (
        _card_transaction(stripe_card, "capture", 100, authorization=None, merchant="Clarks"),
        _card_transaction(stripe_card, "refund", 40, authorization=None, merchant="Elsewhere Ltd"),
    ):
        content, headers = signed(event, secret)
        scene.client.cookies.clear()
        answer = await scene.client.post("/stripe/webhook", content=content, headers=headers)
        assert answer.status_code == 200, f"setting up: {answer.text}"
    waiting = (await scene.send("GET", "/api/v1/card-refunds/to-match", owner)).json()
    purchases = (await scene.send("GET", "/api/v1/purchases?limit=200", owner)).json()["items"]
    captured = max(p["id"] for p in purchases if p["status"] == "captured" and p["supplier"] == "Clarks")
    return Call(ids={"refund_id": max(int(r["id"]) for r in waiting)}, json={"purchase_id": captured})


# Paying suppliers: a second finance person (made by the system) registers and proposes, so the
# demo's one finance account can confirm; invoices are bought, billed, approved and paid over the API.

SECOND_FINANCE: dict[str, int] = {}
SUPPLIER_BODY = {"name": "Matrix Beds", "address": "1 High St", "sort_code": "089999", "account_number": "66374958"}


async def _as_second_finance(scene: Scene, use_case: Any, **arguments: Any) -> Any:
    engine = create_engine(scene.world.url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            if scene.world.url not in SECOND_FINANCE:
                person = await create_person(
                    db, actor=None, email=f"fin2.{_unique()}@matrix.invalid", display_name="Second finance",
                    password=DEMO_PASSWORD, now=now_utc(),
                )  # fmt: skip
                await grant_role(db, actor=None, person_id=person.id, role="finance", team_id=None, now=now_utc())
                SECOND_FINANCE[scene.world.url] = int(person.id)
            who = await load_principal(db, person_id=SECOND_FINANCE[scene.world.url])
            result = await use_case(db, who=who, now=now_utc(), **arguments)
            await db.commit()
            return result
    finally:
        await engine.dispose()


async def _fresh_supplier(scene: Scene, *, confirmed: bool) -> int:
    details = suppliers.SupplierCreate(vat_number=None, **{**SUPPLIER_BODY, "name": f"Matrix {_unique()}"})
    supplier = await _as_second_finance(scene, suppliers.register_supplier, supplier=details)
    if confirmed:
        await scene.create("finance", f"/api/v1/suppliers/{supplier.id}/confirmation", None)
    return int(supplier.id)


async def fresh_unconfirmed_supplier(scene: Scene, _target: str, _account: str | None) -> Call:
    return Call(ids={"supplier_id": await _fresh_supplier(scene, confirmed=False)})


async def fresh_bank_details(scene: Scene, _target: str, _account: str | None) -> Call:
    supplier_id = await _fresh_supplier(scene, confirmed=False)
    return Call(ids={"supplier_id": supplier_id}, json={"sort_code": "107999", "account_number": "88837491"})


async def fresh_bank_change(scene: Scene, _target: str, _account: str | None) -> Call:
    supplier_id = await _fresh_supplier(scene, confirmed=False)
    change = await _as_second_finance(scene, suppliers.propose_bank_change, supplier_id=supplier_id,
                                      sort_code="107999", account_number="88837491")  # fmt: skip
    return Call(ids={"change_id": int(change.id)}, json={"confirm": True})


async def _fresh_invoice(scene: Scene, target: str) -> tuple[int, int]:
    patch = scene.world.patches[target]
    decision = await scene.create(
        patch.owner, "/api/v1/purchases", {**purchase_body(patch), "payment_method": "invoice"}
    )
    assert decision["purchase"]["status"] == "held", decision
    return int(decision["purchase"]["id"]), await _fresh_supplier(scene, confirmed=True)


async def fresh_invoice_payee(scene: Scene, target: str, _account: str | None) -> Call:
    purchase_id, supplier_id = await _fresh_invoice(scene, target)
    return Call(ids={"purchase_id": purchase_id}, json={"supplier_id": supplier_id, "reference": "INV-M"})


async def _billed_invoice(scene: Scene, target: str) -> int:
    purchase_id, supplier_id = await _fresh_invoice(scene, target)
    owner = scene.world.patches[target].owner
    await scene.create(owner, f"/api/v1/purchases/{purchase_id}/payee", {"supplier_id": supplier_id, "reference": "M"})
    await scene.create(owner, f"/api/v1/purchases/{purchase_id}/receipts", None, files=receipt_file())
    return purchase_id


async def fresh_billed_invoice(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"purchase_id": await _billed_invoice(scene, target)})


async def _fresh_run(scene: Scene, target: str) -> tuple[int, int]:
    purchase_id = await _billed_invoice(scene, target)
    await scene.create("finance", f"/api/v1/purchases/{purchase_id}/payment-approval", None)
    return purchase_id, int((await scene.create("finance", "/api/v1/payment-runs", None))["id"])


async def fresh_approved_invoice(scene: Scene, target: str, _account: str | None) -> Call:
    purchase_id = await _billed_invoice(scene, target)
    await scene.create("finance", f"/api/v1/purchases/{purchase_id}/payment-approval", None)
    return Call()


async def fresh_run(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"run_id": (await _fresh_run(scene, target))[1]})


async def fresh_run_file(scene: Scene, target: str, _account: str | None) -> Call:
    return Call(ids={"run_id": (await _fresh_run(scene, target))[1], "name": "ap-import.csv"})


async def fresh_paid_invoice(scene: Scene, target: str, _account: str | None) -> Call:
    purchase_id, run_id = await _fresh_run(scene, target)
    await scene.create("finance", f"/api/v1/payment-runs/{run_id}/payment", None)
    return Call(ids={"purchase_id": purchase_id})


#: How to build each change (and each request with a body). Reads need no entry: they go to
#: the shared objects of the target's patch.
REQUESTS: dict[str, Builder] = {
    "POST /api/v1/suppliers": body(lambda _s, _p: {**SUPPLIER_BODY, "name": f"Matrix {_unique()}"}),
    "POST /api/v1/suppliers/{supplier_id}/confirmation": fresh_unconfirmed_supplier,
    "POST /api/v1/suppliers/{supplier_id}/bank-details": fresh_bank_details,
    "POST /api/v1/bank-details-changes/{change_id}/decision": fresh_bank_change,
    "POST /api/v1/purchases/{purchase_id}/payee": fresh_invoice_payee,
    "POST /api/v1/purchases/{purchase_id}/payment-approval": fresh_billed_invoice,
    "POST /api/v1/purchases/{purchase_id}/returned-payment": fresh_paid_invoice,
    "POST /api/v1/payment-runs": fresh_approved_invoice,
    "POST /api/v1/payment-runs/{run_id}/payment": fresh_run,
    "GET /api/v1/payment-runs/{run_id}/{name}": fresh_run_file,
    "POST /api/v1/auth/sign-in": body(lambda _s, p: {"email": email(p.owner), "password": DEMO_PASSWORD}),
    "POST /api/v1/auth/sign-out": fresh_session,
    "POST /api/v1/auth/sign-out-everywhere": fresh_session,
    "POST /api/v1/me/tokens": body(lambda _s, _p: {"name": "matrix"}),
    "POST /api/v1/subject-access-exports": body(lambda _s, p: {"reference": p.family_reference}),
    "DELETE /api/v1/me/tokens/{token_id}": fresh_token,
    "POST /api/v1/teams": body(
        lambda _s, _p: {
            "name": f"Team {_unique()}",
            "locality": "Exeter",
            "cost_centre": f"EH-{_unique()}",
            "department": "Children's Services - Early Help",
        }
    ),
    "POST /api/v1/people": body(
        lambda _s, _p: {
            "email": f"{_unique()}@matrix.invalid",
            "display_name": "Matrix Person",
            "password": "a long password",
        }
    ),
    "POST /api/v1/people/{person_id}/roles": fresh_person_role,
    "POST /api/v1/people/{person_id}/deactivation": fresh_person_to_deactivate,
    "POST /api/v1/people/{person_id}/reactivation": fresh_deactivated_person,
    "DELETE /api/v1/people/{person_id}/roles/{role}": fresh_person_with_a_role,
    "POST /api/v1/wallets": fresh_person_wallet,
    "GET /api/v1/proposals/{proposal_id}": fresh_funding_proposal,
    "POST /api/v1/proposals/{proposal_id}/confirmation": fresh_funding_proposal,
    "POST /api/v1/proposals/{proposal_id}/refusal": fresh_funding_proposal,
    "POST /api/v1/funding-sources": body(lambda _s, _p: {"code": f"fs-{_unique()}", "name": "Matrix Fund"}),
    "POST /api/v1/funding-sources/{source_id}/funding": body(
        lambda _s, _p: {"amount_pence": 100, "reason": "Matrix top-up"}
    ),
    "PUT /api/v1/funding-sources/{source_id}/conditions": body(lambda _s, _p: {}),
    "POST /api/v1/funding-sources/{source_id}/claw-back": fresh_grant_to_claw_back,
    "POST /api/v1/redaction-terms": body(lambda _s, _p: {"list_name": "vulnerability_words", "term": _unique()}),
    "DELETE /api/v1/redaction-terms/{term_id}": fresh_redaction_term,
    "POST /api/v1/free-text-check": body(lambda _s, _p: {"text": "Winter coat"}),
    "POST /api/v1/me/buying-for": body(lambda _s, p: {"family_id": p.family_id, "need_ids": [p.need_id]}),
    "DELETE /api/v1/me/buying-for": body(lambda _s, _p: None),
    "POST /api/v1/allocations": body(
        lambda s, p: {
            "funding_source_id": s.world.funding_source_id,
            "team_id": p.team_id,
            "wallet_id": p.wallet_id,
            "amount_pence": 1,
            "reason": "Matrix allocation",
        }
    ),
    "POST /api/v1/wallets/{wallet_id}/returns": body(
        lambda s, _p: {"funding_source_id": s.world.funding_source_id, "amount_pence": 1, "reason": "Matrix return"}
    ),
    "POST /api/v1/families": body(lambda _s, p: family_body(p)),
    "POST /api/v1/families/{family_id}/closure": fresh_family_closure,
    "POST /api/v1/families/{family_id}/workers": fresh_family_worker,
    "GET /api/v1/families/{family_id}/six-month-check": fresh_closed_family,
    "POST /api/v1/families/{family_id}/six-month-check": fresh_six_month_check,
    "POST /api/v1/families/{family_id}/needs": body(lambda _s, _p: need_body()),
    "PUT /api/v1/families/{family_id}/case-link": body(
        lambda _s, _p: {"case_system": "Mosaic", "case_system_id": "M-1234"}
    ),
    "POST /api/v1/needs/{need_id}/reviews": body(lambda _s, _p: {"outcome": "improved", "score": 5}),
    "POST /api/v1/purchases": body(lambda _s, p: purchase_body(p)),
    "POST /api/v1/purchases/{purchase_id}/cancellation": fresh_purchase_cancellation,
    "POST /api/v1/purchases/{purchase_id}/capture": fresh_purchase_capture,
    "POST /api/v1/purchases/{purchase_id}/refunds": fresh_purchase_refund,
    "POST /api/v1/purchases/{purchase_id}/receipts": receipt_upload,
    "PUT /api/v1/finance-settings": body(lambda _s, _p: {"layout": "oracle", "payment_accounts": {"card": "9100"}}),
    "PUT /api/v1/policy": body(lambda s, _p: {"rules": s.world.policy_rules, "note": "Re-published unchanged"}),
    "GET /api/v1/cards/{card_id}": fresh_card,
    "POST /api/v1/wallets/{wallet_id}/cards": body(lambda _s, _p: {"type": "virtual"}),
    "POST /api/v1/cards/{card_id}/freeze": fresh_card,
    "POST /api/v1/cards/{card_id}/unfreeze": fresh_frozen_card,
    "POST /api/v1/cards/{card_id}/cancellation": fresh_card,
    "POST /api/v1/cards/{card_id}/replacement": fresh_card_replacement,
    "POST /api/v1/cards/{card_id}/details-key": fresh_card_nonce,
    "POST /api/v1/cards/{card_id}/activation": fresh_physical_card,
    "POST /api/v1/purchases/{purchase_id}/family": fresh_card_purchase,
    "POST /api/v1/card-refunds/{refund_id}/purchase": fresh_refund_to_match,
    "GET /api/v1/reports/{month}/{name}": this_months_report,
    "GET /api/v1/reports/annual/{year}": this_years_evidence,
    "GET /api/v1/reports/annual/{year}/{file_format}": this_years_evidence_csv,
    "GET /api/v1/periods/{month}": this_months_period,
    "POST /api/v1/periods/{month}/explanations": fresh_over_capture_explanation,
    "POST /api/v1/periods/{month}/close": quiet_month_close,
    "POST /api/v1/approvals": body(lambda _s, p: advance_body(p)),
    "GET /api/v1/approvals/{request_id}": fresh_request,
    "POST /api/v1/approvals/{request_id}/decision": fresh_request_decision,
    "POST /api/v1/approvals/{request_id}/questions": fresh_request_message,
    "POST /api/v1/approvals/{request_id}/messages": fresh_request_message,
    "POST /api/v1/approvals/{request_id}/cancel": fresh_request,
    "POST /api/v1/purchases/{purchase_id}/complete": fresh_approved_parked_purchase,
    "PUT /api/v1/teams/{team_id}/fallback-approver": fallback_body,
    "PUT /api/v1/teams/{team_id}/office-address": body(
        lambda _s, _p: {"line1": "Family Hub", "city": "Exeter", "postal_code": "EX1 1AA"}
    ),
    "PUT /api/v1/people/{person_id}/work-mobile": fresh_person_mobile,
    "GET /api/v1/people/{person_id}/bank-accounts": owners_bank_account,
    "POST /api/v1/people/{person_id}/bank-accounts": owners_bank_account,
    "POST /api/v1/worker-bank-accounts/{account_id}/decision": fresh_worker_bank_account,
    "POST /api/v1/deputies": deputy_body,
    "POST /api/v1/reviews/{review_id}/clear": fresh_open_review,
    "POST /api/v1/notifications/{notification_id}/read": fresh_notification,
}


async def read_shared(_scene: Scene, _target: str, _account: str | None) -> Call:
    return Call()


def shared_ids(world: World, target: str) -> dict[str, int]:
    patch = world.patches[target]
    return {
        "team_id": patch.team_id,
        "wallet_id": patch.wallet_id,
        "family_id": patch.family_id,
        "need_id": patch.need_id,
        "purchase_id": patch.purchase_id,
        "receipt_id": patch.receipt_id,
        "source_id": world.funding_source_id,
    }


def url_for(operation: str, ids: Mapping[str, int | str]) -> str:
    missing = [name for name in path_ids(operation) if name not in ids]
    assert not missing, f"{operation}: no id for {missing}: give its request builder a fresh object"
    return re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), path_of(operation))


async def answer(
    scene: Scene, operation: str, target: str, account: str | None, *, forget_csrf: bool = False
) -> Response:
    """The app's answer to ``operation`` about ``target``'s patch, asked by ``account``
    (``None``: anonymous); ``forget_csrf`` leaves the session's CSRF token out."""
    call = await REQUESTS.get(operation, read_shared)(scene, target, account)
    url = url_for(operation, {**shared_ids(scene.world, target), **call.ids})
    session = call.session if call.session is not None else (scene.world.sessions[account] if account else None)
    if session is not None and forget_csrf:
        session = replace(session, csrf="")
    kwargs: dict[str, Any] = {}
    if call.json is not None:
        kwargs["json"] = call.json
    if call.files is not None:
        kwargs["files"] = call.files
    response = await scene.send(method_of(operation), url, session, **kwargs)
    if operation == "POST /api/v1/auth/sign-out-everywhere" and account is not None and response.is_success:
        scene.world.sessions[account] = await scene.sign_in(account)  # the world's own session ended too
    return response


# Building the world ----------------------------------------------------------------------


def _seed(url: str) -> None:
    databases.seed_county(url, SMALL_COUNTY)


ACCOUNTS = ("kw.exeter.01", "kw.torridge.01", "manager.exeter", "manager.torridge", "finance", "auditor", "admin")


async def _build_world(url: str) -> World:
    async with AsyncTestClient(app=create_app(settings_for(url))) as client:
        sessions = {account: await sign_in_session(client, account) for account in ACCOUNTS}
        bare = World(url=url, sessions=sessions, patches={}, funding_source_id=0, policy_rules=[])
        scene = Scene(client, bare)
        people = (await scene.send("GET", "/api/v1/people", sessions["admin"])).json()
        person_ids = {p["email"]: int(p["id"]) for p in people}
        sources = (await scene.send("GET", "/api/v1/funding-sources", sessions["finance"])).json()
        source_id = next(int(s["id"]) for s in sources if s["code"] == "prevention")
        proposal = await scene.create(
            "finance",
            f"/api/v1/funding-sources/{source_id}/funding",
            {"amount_pence": 10_000_000, "reason": "Matrix grant"},
        )
        await scene.create("admin", f"/api/v1/proposals/{proposal['id']}/confirmation", None)
        patches: dict[str, Patch] = {}
        for team_id, target in enumerate(TARGETS, start=1):
            owner = f"kw.{target}.01"
            wallet_id = sessions[owner].wallet_id
            assert wallet_id is not None
            for wallet in (None, wallet_id):
                await scene.create(
                    "finance",
                    "/api/v1/allocations",
                    {
                        "funding_source_id": source_id,
                        "team_id": team_id,
                        "wallet_id": wallet,
                        "amount_pence": 1_000_000 if wallet is None else 100_000,
                        "reason": "Matrix",
                    },
                )
            draft = Patch(
                team_id=team_id,
                owner=owner,
                owner_id=sessions[owner].person_id,
                second_worker_id=person_ids[email(f"kw.{target}.02")],
                wallet_id=wallet_id,
                family_id=0,
                family_reference="",
                need_id=0,
                purchase_id=0,
                receipt_id=0,
            )
            family = await scene.create(owner, "/api/v1/families", family_body(draft))
            need = await scene.create(owner, f"/api/v1/families/{family['id']}/needs", need_body())
            draft = replace(
                draft, family_id=int(family["id"]), family_reference=family["reference"], need_id=int(need["id"])
            )
            decision = await scene.create(owner, "/api/v1/purchases", purchase_body(draft))
            purchase_id = int(decision["purchase"]["id"])
            receipt = await scene.create(owner, f"/api/v1/purchases/{purchase_id}/receipts", None, files=receipt_file())
            linked = await scene.send(
                "PUT",
                f"/api/v1/families/{family['id']}/case-link",
                sessions["admin"],
                json={"case_system": "Mosaic", "case_system_id": f"M-{target}"},
            )
            assert linked.status_code == 200, linked.text
            patches[target] = replace(draft, purchase_id=purchase_id, receipt_id=int(receipt["id"]))
        policy = (await scene.send("GET", "/api/v1/policy", sessions["admin"])).json()
        return World(
            url=url, sessions=sessions, patches=patches, funding_source_id=source_id, policy_rules=list(policy["rules"])
        )


def _postgres_database() -> str:
    reason = databases.postgres_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    return databases.create_postgres_database(prefix="tide_matrix")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """This module's own seeded county, with both patches set up and everyone signed in."""
    if request.param == "sqlite":
        url = databases.sqlite_url(Path(tmp_path_factory.mktemp("matrix")))
    else:
        url = _postgres_database()
    try:
        databases.migrate(url)
        _seed(url)
        yield asyncio.run(_build_world(url))
    finally:
        if request.param == "postgresql":
            databases.drop_postgres_database(url)


@pytest.fixture
async def scene(world: World) -> AsyncIterator[Scene]:
    async with AsyncTestClient(app=create_app(settings_for(world.url))) as client:
        yield Scene(client, world)


# The tests -------------------------------------------------------------------------------


def test_every_published_operation_has_a_row_in_the_table() -> None:
    missing = [operation for operation in OPERATIONS if operation not in EXPECTED]
    assert not missing, f"add a row to EXPECTED (and a request to REQUESTS if it has a body) for: {missing}"


def test_the_table_has_no_row_for_an_operation_the_app_does_not_publish() -> None:
    assert sorted(set(EXPECTED) - set(OPERATIONS)) == []
    assert sorted(set(REQUESTS) - set(OPERATIONS)) == []


def test_every_change_says_how_its_request_is_built() -> None:
    assert [op for op in OPERATIONS if method_of(op) != "GET" and op not in REQUESTS] == []


def test_anonymous_callers_are_refused_everywhere_but_health_and_signing_in() -> None:
    open_to_all = {op for op, row in EXPECTED.items() if row[0] != 401}
    assert open_to_all == {"GET /health", "GET /health/live", "GET /health/ready", "POST /api/v1/auth/sign-in"}


def test_the_auditor_changes_nothing_but_their_own_sign_in_and_tokens() -> None:
    auditor = ROLES.index("auditor")
    changes = {op for op, row in EXPECTED.items() if method_of(op) != "GET" and row[auditor] == OK}
    assert changes <= PERSONAL


def test_finance_finds_no_family_and_no_need() -> None:
    finance = ROLES.index("finance")
    about_families = [op for op in EXPECTED if {"family_id", "need_id"}.intersection(path_ids(op))]
    assert about_families
    assert {op: EXPECTED[op][finance] for op in about_families} == dict.fromkeys(about_families, 404)


def test_a_private_object_in_the_path_that_the_role_cannot_see_is_not_found() -> None:
    unseen = [ROLES.index("other team's key worker"), ROLES.index("other team's manager")]
    private = [op for op in EXPECTED if PRIVATE_IDS.intersection(path_ids(op))]
    assert {op: {EXPECTED[op][i] for i in unseen} for op in private} == {op: {404} for op in private}


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_each_role_gets_the_answer_the_table_gives(scene: Scene, operation: str) -> None:
    if operation not in EXPECTED:
        pytest.fail(f"{operation} has no row in EXPECTED: say who may call it")
    wrong: list[str] = []
    for target in targets_of(operation):
        for role, expected in zip(ROLES, EXPECTED[operation], strict=True):
            response = await answer(scene, operation, target, account_of(role, target))
            if not matches(expected, response.status_code):
                wrong.append(
                    f"  {role} ({account_of(role, target) or '-'}) on {target}'s: "
                    f"expected {expected}, got {response.status_code} {response.text[:160]}"
                )
    assert not wrong, f"{operation}:\n" + "\n".join(wrong)


# fmt: off
#: Which roles find the target patch's object in each list (anonymous callers get 401).
LISTED: dict[str, tuple[bool, bool, bool, bool, bool, bool, bool]] = {
    #                                                 kw     okw    mgr    omgr   fin    aud    adm
    #   okw: the other team's key worker, omgr: the other team's manager
    "/api/v1/families?reference={family_reference}": (True,  False, True,  False, False, True,  True),
    "/api/v1/wallets?team_id={team_id}":             (True,  False, True,  False, True,  True,  True),
    "/api/v1/purchases?family_id={family_id}":       (True,  False, True,  False, True,  True,  True),
    "/api/v1/allocations?wallet_id={wallet_id}":     (True,  False, True,  False, True,  True,  True),
}
# fmt: on
#: What identifies the target's object among a list's items.
LISTED_BY = {
    "families": ("id", "family_id"),
    "wallets": ("id", "wallet_id"),
    "purchases": ("id", "purchase_id"),
    "allocations": ("wallet_id", "wallet_id"),
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("listing", list(LISTED))
async def test_a_list_shows_an_object_to_exactly_the_roles_that_may_open_it(
    scene: Scene, listing: str, target: str
) -> None:
    patch = scene.world.patches[target]
    url = listing.format(**patch.__dict__) + "&limit=200"
    field_name, attribute = LISTED_BY[url.split("/")[3].split("?")[0]]
    wrong: list[str] = []
    for role, expected in zip(ROLES[1:], LISTED[listing], strict=True):
        account = account_of(role, target)
        assert account is not None
        response = await scene.send("GET", url, scene.world.sessions[account])
        assert response.status_code == 200, response.text
        found = any(item[field_name] == getattr(patch, attribute) for item in response.json()["items"])
        if found != expected:
            wrong.append(f"  {role} ({account}): {'listed' if found else 'not listed'}")
    assert not wrong, f"GET {url}:\n" + "\n".join(wrong)
    anonymous = await scene.send("GET", url, None)
    assert anonymous.status_code == 401


@pytest.mark.parametrize("account", ["finance", "kw.exeter.01", "manager.exeter", "auditor", "admin"])
async def test_finance_sees_a_purchase_but_not_the_needs_it_answers(scene: Scene, account: str) -> None:
    patch = scene.world.patches["exeter"]
    session = scene.world.sessions[account]
    expected = None if account == "finance" else [patch.need_id]
    one = await scene.send("GET", f"/api/v1/purchases/{patch.purchase_id}", session)
    listed = await scene.send("GET", f"/api/v1/purchases?family_id={patch.family_id}&limit=200", session)
    assert one.json()["need_ids"] == expected
    assert [p["need_ids"] for p in listed.json()["items"] if p["id"] == patch.purchase_id] == [expected]


UNSAFE = [op for op in OPERATIONS if method_of(op) != "GET" and op != "POST /api/v1/auth/sign-in"]


@pytest.mark.parametrize("operation", UNSAFE)
async def test_a_change_made_with_the_session_cookie_is_refused_without_its_csrf_token(
    scene: Scene, operation: str
) -> None:
    """Made by a role the table lets make it, so only the missing token can refuse it."""
    role = next(role for role, cell in zip(ROLES, EXPECTED[operation], strict=True) if cell == OK)
    response = await answer(scene, operation, "exeter", account_of(role, "exeter"), forget_csrf=True)
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:tide:problem:csrf-failed"
