"""The two edges a test drives one use case through, and what it compares afterwards.

A ``Visit`` is one client on one copy of the county: ``api`` sends JSON (or a file) as the
API's clients do, ``page`` sends a page's form as a browser does, each signed in as the person
named. A ``Case`` is one use case: the scene it starts from (made through use-case functions),
the same action by each edge, and the tables the action writes. ``SNAPSHOT`` says which columns
of each table are compared: none that carries a moment, a random token or a hash of one.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from httpx import Response
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.web.forms import KEY_FIELD
from api.web.session import CSRF_FIELD
from ledger.database import create_engine
from tests import databases
from tests.api.conftest import settings_for
from tests.api.conftest import sign_in as api_sign_in
from tests.web.test_pages import fresh_family
from tests.web.test_pages import sign_in as page_sign_in
from wallet import budgets
from wallet.access import Principal, load_principal
from wallet.clock import now_utc
from wallet.demo import email
from wallet.models import Person

Ids = dict[str, Any]

#: What each table's comparable rows are: columns that carry no moment, token or hash of one.
SNAPSHOT = {
    "allocations": "id, level, team_id, wallet_id, amount, reason",
    "allowances": "id, worker_id, wallet_id, family_id, need_ids, category, ceiling, consumed_purchase_id",
    "approval_cover": "team_id, fallback_approver_id",
    "approval_deputies": "id, manager_id, deputy_id, starts_on, ends_on",
    "approval_messages": "id, request_id, author_id, kind, body",
    "approval_requests": "id, status, requester_id, wallet_id, team_id, family_id, need_ids, category, amount, "
    "reason, origin, purchase_id, needs_second, first_approver_id, first_ceiling, decided_by, decision_reason, "
    "approved_ceiling, allowance_id",
    "audit_log": "id, actor_id, action, subject_type, subject_id",
    "cards": "id, cardholder_id, wallet_id, status, frozen_reason, type",
    "closed_reports": "month, name",
    "families": "id, team_id, lead_worker_id, status, closed_on, closure_reason",
    "funding_sources": "id, code, name, source_account_id, pot_account_id",
    "ledger_accounts": "id, code, kind, debits_posted, credits_posted, debits_pending, credits_pending",
    "ledger_periods": "month, status, closed_by",
    "need_reviews": "need_id, outcome, score, reviewed_by",
    "sustain_checks": "family_id, team_id, worker_id, closed_on, due_on, result, checked_on, note, recorded_by",
    "needs": "id, status",
    "notifications": "id, recipient_id, kind, subject, body, link, read_at IS NOT NULL",
    "people": "id, email, display_name, active",
    "policy_versions": "id, rules, note, created_by",
    "proposals": "id, kind, status, details, note, proposed_by, decided_by",
    "purchase_needs": "purchase_id, need_id",
    "purchases": "id, family_id, wallet_id, worker_id, category, description, supplier, amount, status, "
    "policy_decision, receipt_required, hold_transfer_id IS NOT NULL",
    "receipt_reviews": "id, purchase_id, reason, status, closed_by, note",
    "receipt_contents": "sha256, content",
    "receipts": "id, purchase_id, content_type, size, sha256, content_sha256, duplicate_of, uploaded_by",
    "reconciliation_explanations": "id, month, finding_key, explanation, explained_by",
    "role_grants": "id, person_id, role, team_id",
    "sessions": "id, person_id, revoked_at IS NOT NULL",
    "sign_in_attempts": "id, email, succeeded",
    "supplier_bank_changes": "id, supplier_id, sort_code, account_number, status, proposed_by, decided_by",
    "suppliers": "id, name, address, vat_number, sort_code, account_number, status, created_by, confirmed_by",
    "teams": "id, name, locality, cost_centre, department, default_funding_source_id",
    "wallets": "id, person_id, team_id, account_id, status",
}

#: Tables every case compares besides its own: what was audited.
ALWAYS = ("audit_log",)

#: The demo county's people the cases act as.
PEOPLE = ("kw.exeter.01", "kw.exeter.02", "manager.exeter", "finance", "admin")


def _fresh_key() -> str:
    """A new idempotency key for each request: the fake Stripe outlives a copy of the county and
    would answer a key it has seen with what it answered then."""
    return f"both-edges:{uuid.uuid4().hex}"


@dataclass
class Visit:
    """One client on one copy of the county, signed in as one person at a time."""

    client: AsyncTestClient[Any]
    ids: Ids
    signed_in: tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    async def api(
        self, who: str, method: str, path: str, body: Any = None, *, files: dict[str, Any] | None = None
    ) -> Response:
        """``method path`` on the JSON API as ``who``, with an idempotency key."""
        if self.signed_in != ("api", who):
            self.headers = (await api_sign_in(self.client, who)).headers
            self.signed_in = ("api", who)
        headers = {**self.headers, "idempotency-key": _fresh_key()}
        if files is not None:
            return await self.client.request(method, path, files=files, headers=headers)
        return await self.client.request(method, path, json=body, headers=headers)

    async def page(self, who: str, path: str, form: dict[str, str], *, files: dict[str, Any] | None = None) -> Response:
        """A page's form posted to ``path`` as ``who``, with its CSRF token and idempotency key."""
        if self.signed_in != ("page", who):
            self.csrf = await page_sign_in(self.client, who)
            self.signed_in = ("page", who)
        data = {CSRF_FIELD: self.csrf, KEY_FIELD: _fresh_key(), **form}
        return await self.client.post(path, data=data, files=files)


Action = Callable[[Visit], Awaitable[Response]]
Scene = Callable[[AsyncSession, Ids], Awaitable[None]]


async def _nothing(db: AsyncSession, ids: Ids) -> None:
    """No scene beyond the county, a fresh family and room in the team's budget."""


@dataclass(frozen=True)
class Case:
    """One use case: its scene, the action as the API sends it and as the page's form sends
    it, and the tables it writes (``SNAPSHOT``'s names)."""

    tables: tuple[str, ...]
    by_api: Action
    by_page: Action
    scene: Scene = _nothing
    #: The page's form lands through ``api.web.forms.once`` (all but signing in and out).
    once: bool = True


async def who(db: AsyncSession, name: str) -> Principal:
    """The demo person ``name`` as a principal."""
    person_id = (await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one()
    return await load_principal(db, person_id=person_id)


async def _base(db: AsyncSession, family: int, need: int) -> Ids:
    """Everyone's ids, kw.exeter.01's wallet and team, and £500 more in the team's budget."""
    ids: Ids = {"family": family, "need": need}
    for name in PEOPLE:
        ids[name] = (await who(db, name)).person_id
    row = (
        await db.execute(
            text(
                "SELECT w.id, w.team_id, t.default_funding_source_id FROM wallets w JOIN teams t ON t.id = w.team_id "
                "WHERE w.person_id = :person"
            ),
            {"person": ids["kw.exeter.01"]},
        )
    ).one()
    ids.update(wallet=row[0], team=row[1], source=row[2])
    finance, now = await who(db, "finance"), now_utc()
    await budgets.fund_pot(db, actor=finance, funding_source_id=row[2], transfer_id="both:pot", amount=50_000,
                           reason="Room for the team", now=now)  # fmt: skip
    await budgets.allocate(
        db, actor=finance, transfer_id="both:team", funding_source_id=row[2], team_id=row[1], wallet_id=None,
        amount=50_000, month=None, reason="Room for the team", now=now,
    )  # fmt: skip
    return ids


async def set_the_scene(url: str, scene: Scene) -> Ids:
    """The county's ids after the common scene and ``scene``, committed."""
    family_id, need_id = await fresh_family(url, "kw.exeter.01")
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            ids = await _base(db, family_id, need_id)
            await scene(db, ids)
            await db.commit()
            return ids
    finally:
        await engine.dispose()


async def snapshot(url: str, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            return {
                table: [
                    tuple(r) for r in (await db.execute(text(f"SELECT {SNAPSHOT[table]} FROM {table} ORDER BY 1, 2")))
                ]
                for table in tables
            }
    finally:
        await engine.dispose()


def copy_of(seeded: Path, folder: Path) -> str:
    """A copy of the seeded county in ``folder``, as a database URL."""
    folder.mkdir()
    shutil.copy(seeded, folder / "tide.db")
    return databases.sqlite_url(folder)


async def visit(url: str, ids: Ids, action: Action) -> Response:
    """``action`` on a fresh app over ``url``; its last response."""
    async with AsyncTestClient(app=create_app(settings_for(url))) as client:
        client.follow_redirects = False
        return await action(Visit(client=client, ids=ids))
