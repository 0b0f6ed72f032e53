"""The admin pages for an existing person's work mobile and an existing team's office address:
the form shows what is on record, a refusal keeps what was typed, it works with JavaScript
off at phone size, and axe finds nothing."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.sync_api import expect

from tests.web import test_pages as pages
from tests.web.conftest import Server, open_phone
from tests.web.test_pages import csrf_of, sign_in

pages_sqlite = pages.pages_sqlite
pages_postgres = pages.pages_postgres
pages_url = pages.pages_url
app_client = pages.app_client

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _form(html: str) -> dict[str, str]:
    found = KEY.search(html)
    assert found is not None, html[:500]
    return {"csrf_token": csrf_of(html), "idempotency_key": found.group(1)}


async def test_a_wrong_mobile_is_refused_on_the_page_keeping_what_was_typed(app_client: AsyncTestClient[Any]) -> None:
    await sign_in(app_client, "admin")
    form = await app_client.get("/admin/people/1/work-mobile")
    assert form.status_code == 200, form.text
    refused = await app_client.post("/admin/people/1/work-mobile", data={**_form(form.text), "work_mobile": "01392 1"})
    assert refused.status_code == 422
    assert "UK mobile" in refused.text
    assert 'value="01392 1"' in refused.text
    saved = await app_client.post(
        "/admin/people/1/work-mobile", data={**_form(form.text), "work_mobile": "07700 900456"}
    )
    assert saved.status_code == 303, saved.text
    assert 'value="+447700900456"' in (await app_client.get("/admin/people/1/work-mobile")).text


async def test_an_office_address_is_saved_from_the_page_and_a_bad_postcode_is_refused(
    app_client: AsyncTestClient[Any],
) -> None:
    await sign_in(app_client, "admin")
    form = await app_client.get("/admin/teams/1/office-address")
    assert form.status_code == 200, form.text
    typed = {"line1": "Civic Centre", "line2": "", "city": "Barnstaple", "postal_code": "not a postcode"}
    refused = await app_client.post("/admin/teams/1/office-address", data={**_form(form.text), **typed})
    assert refused.status_code == 422
    assert "Enter a UK postcode" in refused.text
    assert 'value="Civic Centre"' in refused.text
    saved = await app_client.post(
        "/admin/teams/1/office-address", data={**_form(form.text), **typed, "postal_code": "ex31 1ee"}
    )
    assert saved.status_code == 303, saved.text
    again = (await app_client.get("/admin/teams/1/office-address")).text
    assert 'value="Civic Centre"' in again
    assert 'value="EX31 1EE"' in again


async def test_a_key_worker_cannot_open_the_contact_pages(app_client: AsyncTestClient[Any]) -> None:
    await sign_in(app_client, "kw.exeter.01")
    assert (await app_client.get("/admin/people/1/work-mobile")).status_code == 403
    assert (await app_client.get("/admin/teams/1/office-address")).status_code == 403


def test_the_contact_pages_work_without_javascript_at_phone_size_and_pass_axe(browser: Any, server: Server) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        page = visit.page
        visit.sign_in("admin")
        visit.go("/admin")
        page.get_by_role("link", name=re.compile("the work mobile of")).first.click()
        visit.check("admin-work-mobile")
        page.get_by_label("Work mobile").fill("not a number")
        page.get_by_role("button", name="Save the work mobile").click()
        expect(page.get_by_role("alert")).to_contain_text("UK mobile")
        visit.check("admin-work-mobile-errors")
        page.get_by_label("Work mobile").fill("07700 900321")
        page.get_by_role("button", name="Save the work mobile").click()
        expect(page.get_by_role("status")).to_contain_text("The work mobile is saved")
        page.get_by_role("link", name=re.compile("^Office address")).first.click()
        visit.check("admin-office")
        page.get_by_label("Postcode").fill("nowhere")
        page.get_by_role("button", name="Save the office address").click()
        expect(page.get_by_role("alert")).to_contain_text("Enter a UK postcode")
        visit.check("admin-office-errors")
        page.get_by_label("Address line 1").fill("Exeter Family Hub")
        page.get_by_label("Town or city").fill("Exeter")
        page.get_by_label("Postcode").fill("EX1 1AA")
        page.get_by_role("button", name="Save the office address").click()
        expect(page.get_by_role("status")).to_contain_text("The office address is saved")
    finally:
        visit.context.close()
        if visit.axe_page is not None:
            visit.axe_page.context.close()
