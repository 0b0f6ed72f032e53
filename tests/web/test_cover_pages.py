"""Asking a manager ahead, naming a deputy, and the fallback approvers, in Chromium with axe-core
on every state (empty, errors shown, done)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from ledger.clock import now_utc
from tests.web.conftest import County, Server, Visit, open_phone
from wallet.clock import LONDON

pytestmark = pytest.mark.dates


def test_a_key_worker_asks_ahead_and_the_manager_finds_it_in_the_inbox(
    phone: Visit, browser: Any, server: Server, web_county: County
) -> None:
    page = phone.page
    phone.sign_in("kw.exeter.01")
    phone.go(f"/families/{web_county.family_id}")
    page.get_by_role("button", name="Ask your manager ahead").click()
    phone.check("ask-ahead")
    page.get_by_role("button", name="Ask my manager").click()
    expect(page.get_by_role("alert")).to_contain_text("Select the need this is for")
    expect(page.get_by_role("alert")).to_contain_text("Enter the most it will cost")
    phone.check("ask-ahead-errors")
    page.get_by_role("checkbox").first.check()
    page.get_by_label("What kind of purchase is it?").select_option("HH-ESS")
    page.get_by_label("The most it will cost").fill("180.00")
    page.get_by_label("What is it, and why does the family need it?").fill("A cooker: theirs is broken")
    page.get_by_role("button", name="Ask my manager").click()
    expect(page.get_by_role("status")).to_contain_text("Your manager has been asked")
    phone.check("ask-ahead-done")

    manager = open_phone(browser, server)
    try:
        manager.sign_in("manager.exeter")
        manager.go("/approvals")
        manager.page.get_by_role("link", name=re.compile(r"£180\.00 for household essentials")).first.click()
        expect(manager.page.get_by_text("A cooker: theirs is broken")).to_be_visible()
    finally:
        manager.context.close()


def test_a_manager_names_a_deputy_for_their_days_away(phone: Visit) -> None:
    page = phone.page
    phone.sign_in("manager.exeter")
    phone.go("/approvals")
    page.get_by_role("link", name="Cover while you are away").click()
    phone.check("cover")
    start = now_utc().astimezone(LONDON).date() + timedelta(days=7)
    page.get_by_label("Who will decide for you?").select_option(label="Fran Finance")
    page.get_by_label("First day").fill(start.isoformat())
    page.get_by_label("Last day").fill((start - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Name the deputy").click()
    expect(page.get_by_role("alert")).to_contain_text("The last day must be the same as or after the first day")
    phone.check("cover-errors")
    page.get_by_label("Last day").fill((start + timedelta(days=6)).isoformat())
    page.get_by_role("button", name="Name the deputy").click()
    expect(page.get_by_role("status")).to_contain_text("Your deputy is named")
    expect(page.get_by_text("Fran Finance:")).to_be_visible()
    phone.check("cover-done")


def test_an_admin_names_a_teams_fallback_approver(phone: Visit) -> None:
    page = phone.page
    phone.sign_in("admin")
    phone.go("/admin")
    page.get_by_role("link", name="Fallback approvers").click()
    phone.check("admin-cover")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose the team")
    phone.check("admin-cover-errors")
    page.get_by_label("Team", exact=True).select_option(index=1)
    page.get_by_label("Fallback approver", exact=True).select_option(label="Fran Finance")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The fallback approver is saved")
    expect(page.get_by_role("cell", name="Fran Finance")).to_be_visible()
    phone.check("admin-cover-done")
