"""Field visibility (wallet.visibility): every role x every channel x every field class, against the one table.

One family is set up with things no one could mistake: a domestic abuse need, free text in a
purchase's description and in a question and answer, a case link, a receipt, and a notification
carrying free text sent to every role. Then each role reads each channel (the JSON API, the
pages, the inbox of notifications, the emails, the month's CSV and PDF reports) and each field
class must be there exactly when ``wallet.visibility`` says that role sees it on that channel.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import async_sessionmaker

from approvals.notifications import Email, notify, send_due
from tests.receipt_files import png
from tests.wallet.conftest import ClientFactory
from tests.wallet.support import PASSWORD, Case, County, SignedIn, Worker, purchase_body
from wallet.clock import local_date, now_utc
from wallet.demo import email
from wallet.visibility import CHANNELS, FIELD_CLASSES, Channel, roles_see

FREE = "Zqxfree"  # in every piece of free text
CASE = "ZQXCASE-7731"
ROLES = {
    "key_worker": "the worker",
    "team_manager": "manager.exeter",
    "finance": "finance",
    "auditor": "auditor",
    "admin": "admin",
}


@dataclass
class Scene:
    worker: Worker
    case: Case
    family_reference: str
    approval_id: int
    parked_id: int
    settled_id: int
    receipt_id: int


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        self.sent.append(email)


async def _scene(county: County, client: AsyncTestClient[Any]) -> Scene:
    worker = await county.new_key_worker(team_id=1, wallet_pence=100_000)
    me = await county.bearer(worker)
    case = await county.open_family(worker, needs=("DA",))
    manager, finance, admin = [await county.bearer(n) for n in ("manager.exeter", "finance", "admin")]
    parked = await client.post(
        "/api/v1/purchases", json=purchase_body(case, 15_000, description=f"{FREE} refuge move"), headers=me.with_key()
    )
    assert parked.status_code == 202, parked.text
    approval_id = int(parked.json()["approval_request_id"])
    asked = await client.post(
        f"/api/v1/approvals/{approval_id}/questions", json={"body": f"{FREE} is she safe?"}, headers=manager.headers
    )
    answered = await client.post(
        f"/api/v1/approvals/{approval_id}/messages", json={"body": f"{FREE} yes, at the refuge"}, headers=me.headers
    )
    settled = await client.post(
        "/api/v1/purchases", json=purchase_body(case, 4_250, description=f"{FREE} shoes"), headers=me.with_key()
    )
    settled_id = int(settled.json()["purchase"]["id"])
    captured = await client.post(
        f"/api/v1/purchases/{settled_id}/capture", json={"amount_pence": 4_250}, headers=finance.with_key()
    )
    receipt = await client.post(
        f"/api/v1/purchases/{settled_id}/receipts", files={"data": ("r.png", png("canary"), "image/png")},
        headers=me.headers,
    )  # fmt: skip
    linked = await client.put(
        f"/api/v1/families/{case.family_id}/case-link",
        json={"case_system": "Mosaic", "case_system_id": CASE},
        headers=admin.headers,
    )
    family = await client.get(f"/api/v1/families/{case.family_id}", headers=me.headers)
    for response in (asked, answered, captured, receipt, linked, family):
        assert response.status_code in (200, 201), response.text
    return Scene(
        worker, case, family.json()["reference"], approval_id, int(parked.json()["purchase"]["id"]), settled_id,
        int(receipt.json()["id"]),
    )  # fmt: skip


def markers(scene: Scene, field: str) -> list[str]:
    """Strings that show ``field`` of the scene's family, on any channel."""
    need_id, family_id = scene.case.need_ids[0], scene.case.family_id
    return {
        "need_detail": ["Domestic abuse", f'"need_ids":[{need_id}]', '"family_open_needs":["DA"]'],
        "family_reference": [scene.family_reference, f'"family_id":{family_id}'],
        "case_link": [CASE],
        "free_text": [FREE],
        "receipts": [f"/receipts/{scene.receipt_id}", "receipt-file-served"],
    }[field]


def reveals_need_line(line: str) -> bool:
    return "Domestic abuse" in line and re.search(r"(?<![\d.<])(1|42\.50)(?![\d.])", line) is not None


def reveals_the_need(report: str) -> bool:
    """A report shows the family's need when a domestic abuse figure is not suppressed: the one
    family, its one purchase or its £42.50 (reports give need figures only as aggregates, ``<5`` below five)."""
    return any(reveals_need_line(line) for line in report.splitlines())


async def _api(client: AsyncTestClient[Any], who: SignedIn, scene: Scene) -> list[str]:
    family = f"/api/v1/families/{scene.case.family_id}"
    paths = [
        f"/api/v1/purchases/{scene.parked_id}", f"/api/v1/purchases/{scene.settled_id}",
        f"/api/v1/approvals/{scene.approval_id}", family, f"{family}/needs", f"{family}/case-link",
        f"/api/v1/purchases/{scene.settled_id}/receipts", "/api/v1/allowances",
        f"/api/v1/purchases?family_id={scene.case.family_id}",
    ]  # fmt: skip
    texts = [(await client.get(path, headers=who.headers)).text for path in paths]
    served = await client.get(f"/api/v1/receipts/{scene.receipt_id}", headers=who.headers)
    return [*texts, "receipt-file-served" if served.status_code == 200 else ""]


async def _pages(client: AsyncTestClient[Any], account: str, scene: Scene) -> list[str]:
    client.cookies.clear()
    signed = await client.post("/api/v1/auth/sign-in", json={"email": account, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    paths = [
        f"/purchases/{scene.parked_id}", f"/purchases/{scene.settled_id}", f"/approvals/{scene.approval_id}",
        "/approvals", f"/families/{scene.case.family_id}", "/messages",
    ]  # fmt: skip
    texts = [(await client.get(path)).text for path in paths]
    client.cookies.clear()
    return texts


async def _reports(client: AsyncTestClient[Any], who: SignedIn, kind: str) -> list[str]:
    month = f"{local_date(now_utc()):%Y-%m}"
    names = ["finance-pack.pdf"] if kind == "pdf" else [
        "gl-journal.csv", "transparency.csv", "needs-outcomes.csv", "reconciliation.csv",
    ]  # fmt: skip
    texts = []
    for name in names:
        got = await client.get(f"/api/v1/reports/{month}/{name}", headers=who.headers)
        if got.status_code != 200:
            texts.append("")
        elif kind == "pdf":
            texts.append("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(got.content)).pages))
        else:
            texts.append(got.text)
    return texts


async def test_every_role_sees_on_every_channel_exactly_the_field_classes_the_one_table_gives_it(
    county: County, new_client: ClientFactory
) -> None:
    client = await new_client()
    scene = await _scene(county, client)
    accounts = {role: scene.worker.email if name == "the worker" else email(name) for role, name in ROLES.items()}
    people = {role: await county.bearer(scene.worker if name == "the worker" else name) for role, name in ROLES.items()}
    async with county.session() as db:  # a notification with free text, to one person of each role
        await notify(
            db, recipient_ids=[p.person_id for p in people.values()], kind="test", subject="A note",
            body="A note about a request.", free_text=f"{FREE} note", link="/", now=now_utc(),
        )  # fmt: skip
    outbox = Outbox()
    sessions = async_sessionmaker(county.engine, expire_on_commit=False)
    while (await send_due(sessions, mailer=outbox, now=now_utc())).sent:
        pass

    seen: dict[tuple[str, Channel], str] = {}
    for role, who in people.items():
        views: dict[Channel, list[str]] = {
            "api": await _api(client, who, scene),
            "pages": await _pages(client, accounts[role], scene),
            "notifications": [(await client.get("/api/v1/notifications", headers=who.headers)).text],
            "email": [f"{e.subject}\n{e.body}" for e in outbox.sent if e.to == accounts[role]],
            "csv": await _reports(client, who, "csv"),
            "pdf": await _reports(client, who, "pdf"),
        }
        assert set(views) == set(CHANNELS)
        for channel, texts in views.items():
            seen[(role, channel)] = "\n".join(texts)

    wrong = []
    for (role, channel), text in seen.items():
        for field in FIELD_CLASSES:
            shown = any(m in text for m in markers(scene, field))
            if channel in ("csv", "pdf") and field == "need_detail":
                shown = reveals_the_need(text)
            expected = roles_see({role}, field, channel)
            # A class the table lets a role see is only there when the channel holds it for them:
            # the inbox holds free text (the note above); emails and reports never hold any.
            if shown != expected and (shown or channel in ("api", "pages") or field == "free_text"):
                wrong.append(f"{role} on {channel}: {field} {'shown' if shown else 'missing'}")
    assert not wrong, "\n".join(wrong)
    assert len(outbox.sent) >= 5  # every role was emailed, and no email held a family's detail


async def test_finance_reads_the_purchase_and_approval_pages_without_the_familys_needs_or_free_text(
    county: County, new_client: ClientFactory
) -> None:
    client = await new_client()
    scene = await _scene(county, client)

    pages = await _pages(client, email("finance"), scene)

    assert all("Domestic abuse" not in page and FREE not in page for page in pages)
    assert f"/receipts/{scene.receipt_id}" in pages[1]  # receipts: finance's VAT evidence
