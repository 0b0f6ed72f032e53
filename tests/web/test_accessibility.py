"""Every page without JavaScript, by keyboard alone, and through axe-core in every state.

The journeys test covers buying, approving and the month; this covers the rest: families,
reviews and closing a case (with JavaScript switched off), admin, sign-in errors and the
error pages. Screenshots go to docs/screenshots like the rest.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import County, Server, Visit, open_phone
from tests.web.test_journeys import JPEG, buy


def test_a_key_worker_buys_adds_a_receipt_reviews_a_need_and_closes_a_case_with_javascript_off(
    browser: Any, server: Server, web_county: County
) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        page = visit.page
        visit.sign_in("kw.exeter.02")
        visit.check("nojs-worker-home")
        visit.go("/families")
        visit.check("worker-families")
        page.get_by_role("link", name=re.compile(r"^F-")).first.click()
        family_url = page.url
        visit.check("worker-family")
        page.get_by_role("link", name=re.compile("Review this need")).first.click()
        page.get_by_role("button", name="Save the review").click()
        expect(page.get_by_role("alert")).to_contain_text("Enter a score from 1 to 10")
        visit.check("review-errors")
        page.get_by_label("Improved").check()
        page.get_by_label("Score now, from 1 to 10").fill("7")
        page.get_by_role("button", name="Save the review").click()
        expect(page.get_by_role("status")).to_contain_text("The review is recorded")
        expect(page.get_by_text(re.compile(r"Reviewed .*: improved, score 7"))).to_be_visible()
        reference = page.get_by_role("heading", level=1).inner_text()
        page.get_by_role("button", name=f"I'm buying for {reference}").click()  # before paying at a till
        expect(page.get_by_role("status")).to_contain_text("Your card is paying for this family now")
        visit.check("worker-family-buying-for")

        page.get_by_role("button", name=f"Buy something for {reference}").click()
        page.get_by_role("button", name="Continue").click()  # the family is already chosen
        page.get_by_role("checkbox").first.check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Learning").check()
        page.get_by_label("What is it?").fill("Reading books")
        page.get_by_label("How much does it cost?").fill("6.50")
        page.get_by_label("Shop or supplier").fill("Waterstones")
        page.get_by_label("Invoice to the council").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Confirm and buy").click()
        expect(page.get_by_role("heading", name="You can go ahead")).to_be_visible()
        page.get_by_label("Take a photo of the receipt").set_input_files(
            {"name": "receipt.jpg", "mimeType": "image/jpeg", "buffer": JPEG + b"nojs"}
        )
        page.get_by_role("button", name="Add the receipt").click()
        expect(page.get_by_role("status")).to_contain_text("The receipt is attached")

        page.goto(family_url.split("?")[0] + "/close")
        page.get_by_role("button", name="Close the case").click()
        expect(page.get_by_role("alert")).to_contain_text("Select why the case is closing")
        visit.check("close-errors")
        page.get_by_label("Outcomes met").check()
        page.get_by_role("button", name="Close the case").click()
        expect(page.get_by_role("status")).to_contain_text("The case is closed")
        visit.check("worker-family-closed")
    finally:
        visit.axe_page.context.close()
        visit.context.close()


def _focus_is_visible(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
            return s.outlineStyle !== 'none' && s.outlineWidth !== '0px' || s.boxShadow !== 'none'
                || s.backgroundColor === 'rgb(255, 221, 0)'; }"""
        )
    )


def test_the_keyboard_reaches_everything_with_a_visible_focus(phone: Visit) -> None:
    page = phone.page
    phone.go("/sign-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for name in ("Email address", "Password"):
        page.keyboard.press("Tab")
        expect(page.get_by_label(name)).to_be_focused()
        assert _focus_is_visible(page), name
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")  # nothing filled in: the errors, and focus on their summary
    expect(page.get_by_role("alert")).to_be_focused()
    phone.check("sign-in-errors")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Enter your email address")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Email address")).to_be_focused()


def test_admin_pages_and_error_pages_pass_axe_in_every_state(phone: Visit) -> None:
    page = phone.page
    phone.go("/sign-in")
    phone.check("sign-in")
    phone.go("/no-such-page")
    phone.check("not-found")
    phone.sign_in("admin")
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    phone.check("admin")
    for path, button, error, name in (
        ("/admin/people/new", "Add the person", "Enter the person's name", "admin-person"),
        ("/admin/teams/new", "Add the team", "Enter the team's name", "admin-team"),
        ("/admin/funding/new", "Add the funding source", "Enter the funding source's name", "admin-funding"),
        ("/admin/policy", "Propose the new policy", "Say what changed", "admin-policy"),
    ):
        phone.go(path)
        phone.check(name)
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("alert")).to_contain_text(error)
        phone.check(f"{name}-errors")
    phone.go("/admin/funding/new")
    page.get_by_label("Name").fill("Household Support Fund")
    page.get_by_label("Short code").fill("household-support")
    page.get_by_role("button", name="Add the funding source").click()
    expect(page.get_by_role("status")).to_contain_text("The funding source is added")
    expect(page.get_by_text("Household Support Fund")).to_be_visible()
    phone.go("/buy")  # an admin is not a key worker
    expect(page.get_by_role("heading", name="Your role cannot do this")).to_be_visible()
    phone.check("not-allowed")


def test_a_stale_form_says_it_was_already_sent(phone: Visit, web_county: County) -> None:
    page = phone.page
    phone.sign_in("kw.exeter.01")
    buy(phone, web_county, category="Travel", what="Bus fare", amount="2.00", shop="Stagecoach")
    expect(page.get_by_role("heading", name="You can go ahead")).to_be_visible()
    page.go_back()  # back to "check your answers", the same key in the form
    page.go_back()
    page.get_by_label("How much does it cost?").fill("3.00")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm and buy").click()
    expect(page.get_by_role("heading", name="This form was already sent")).to_be_visible()
    phone.check("already-sent")
    page.get_by_role("link", name="See what the first one did").click()
    expect(page.get_by_text("Bus fare")).to_be_visible()


def test_the_leaders_evidence_page_passes_axe_and_works_without_javascript(browser: Any, server: Server) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        page = visit.page
        visit.sign_in("finance")
        visit.go("/evidence")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Evidence report")
        expect(page.get_by_role("heading", name="What these figures cannot show")).to_be_visible()
        visit.check("evidence")
        page.get_by_label("Show another year").select_option(index=1)
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Evidence report")
        visit.check("evidence-earlier-year")
    finally:
        visit.context.close()
        if visit.axe_page is not None:
            visit.axe_page.context.close()


def test_finance_settings_pass_axe_and_save_without_javascript(browser: Any, server: Server) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        page = visit.page
        visit.sign_in("finance")
        visit.go("/finance/settings")
        expect(page.get_by_role("heading", level=1)).to_have_text("Finance settings")
        visit.check("finance-settings")
        page.get_by_label("Card spend (card control account)").fill("91;00")
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        expect(page.get_by_label("Card spend (card control account)")).to_have_value("91;00")
        visit.check("finance-settings-refused")
        page.get_by_label("Card spend (card control account)").fill("9100")
        page.get_by_label("Oracle GL_INTERFACE").check()
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_text("The settings are saved as version")).to_be_visible()
        expect(page.get_by_label("Oracle GL_INTERFACE")).to_be_checked()
        visit.check("finance-settings-saved")
        # The shared county's journal goes back to the environment's layout and codes.
        page.get_by_label("Card spend (card control account)").fill("")
        page.get_by_label("Generic CSV").check()
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_text("The settings are saved as version")).to_be_visible()
    finally:
        visit.context.close()
        if visit.axe_page is not None:
            visit.axe_page.context.close()
