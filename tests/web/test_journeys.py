"""End to end in real Chromium on a 360 x 740 phone: the journeys the issue names.

A key worker buys school shoes and photographs the receipt; buys a supermarket voucher, which
needs a manager, and asks; the manager approves from the inbox; the worker completes it;
finance looks at the month and downloads its reports. Every page on the way, in each state
(empty, with errors, filled in), passes axe-core and is screenshotted into docs/screenshots.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import receipt_files
from tests.web.conftest import County, Server, Visit, open_phone

pytestmark = pytest.mark.dates

JPEG = receipt_files.jpeg("receipt for the web test")


def buy(
    phone: Visit,
    county: County,
    *,
    category: str,
    what: str,
    amount: str,
    shop: str,
    shot: str = "",
    offline_confirm: bool = False,
) -> None:
    """Go through the four steps of buying, from the home page's button to the answer."""
    page = phone.page
    if offline_confirm:  # every step but the last needs the signal: go offline just before confirming
        phone.context.set_offline(False)
    phone.go("/")
    page.get_by_role("button", name="Buy something for a family").click()
    if shot:
        phone.check(f"{shot}-1-family")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert")).to_contain_text("Select the family you are buying for")
        phone.check(f"{shot}-1-family-error")
    page.get_by_label(county.family_reference).check()
    page.get_by_role("button", name="Continue").click()
    if shot:
        phone.check(f"{shot}-2-need")
    page.get_by_label("Poor or persistent school absence").check()
    page.get_by_role("button", name="Continue").click()
    if shot:
        phone.check(f"{shot}-3-details")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert")).to_contain_text("Enter how much it costs")
        phone.check(f"{shot}-3-details-errors")
    page.get_by_label(category).check()
    page.get_by_label("What is it?").fill(what)
    page.get_by_label("How much does it cost?").fill(amount)
    page.get_by_label("Shop or supplier").fill(shop)
    page.get_by_label("Tide card").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before buying")
    expect(page.get_by_text(re.compile(r"left of £300\.00 for this case"))).to_be_visible()
    if shot:
        phone.check(f"{shot}-4-check")
    if offline_confirm:
        phone.context.set_offline(True)
    page.get_by_role("button", name="Confirm and buy").click()


def test_a_key_worker_buys_asks_a_manager_who_approves_and_finance_sees_the_month(
    phone: Visit, browser: Any, server: Server, web_county: County
) -> None:
    page = phone.page
    phone.sign_in("kw.exeter.01")
    expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
    phone.check("worker-home")
    page.get_by_role("button", name="Freeze the card").click()
    expect(page.get_by_role("status")).to_contain_text("Your card is frozen")
    expect(page.get_by_text("Virtual card ending 4242: Frozen")).to_be_visible()
    phone.check("worker-card-frozen")
    page.get_by_role("button", name="Unfreeze the card").click()
    expect(page.get_by_role("status")).to_contain_text("Your card works again")

    # 1. School shoes, within every limit: allowed at once; the receipt is photographed.
    buy(phone, web_county, category="Clothing and school uniform", what="School shoes", amount="24.99",
        shop="Clarks", shot="buy")  # fmt: skip
    expect(page.get_by_role("heading", name="You can go ahead")).to_be_visible()
    phone.check("purchase-allowed")
    shoes_id = int(page.url.split("?")[0].rstrip("/").rsplit("/", 1)[1])
    upload = page.get_by_label("Take a photo of the receipt")
    assert upload.get_attribute("accept") == "image/*,application/pdf"  # photos and PDFs, as the hint says
    assert upload.get_attribute("capture") is None  # a forced camera would hide the PDF
    page.get_by_role("button", name="Add the receipt").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a photo or PDF of the receipt")
    phone.check("purchase-receipt-error")
    upload.set_input_files({"name": "receipt.jpg", "mimeType": "image/jpeg", "buffer": JPEG})
    page.get_by_role("button", name="Add the receipt").click()
    expect(page.get_by_role("status")).to_contain_text("The receipt is attached")
    phone.check("purchase-with-receipt")
    receipt_href = page.get_by_role("link", name=re.compile("Receipt added")).get_attribute("href")
    assert receipt_href is not None
    assert phone.context.request.get(phone.base + receipt_href).body().startswith(b"\xff\xd8\xff")

    # 2. A supermarket voucher always needs a manager: the worker asks.
    buy(phone, web_county, category="Food and vouchers", what="Supermarket voucher", amount="30", shop="Tesco")
    expect(page.get_by_role("heading", name="Your manager needs to approve this")).to_be_visible()
    phone.check("purchase-needs-approval")
    page.get_by_role("button", name="Ask my manager").click()
    expect(page.get_by_role("alert")).to_contain_text("Say why this is needed")
    page.get_by_label("Why does the family need this?").fill("No food in the house until payday on Friday")
    page.get_by_role("button", name="Ask my manager").click()
    expect(page.get_by_role("status")).to_contain_text("Your manager has been asked")
    phone.check("purchase-asked")
    purchase_url = page.url.split("?")[0]

    # 3. The manager approves it from the inbox, on their phone.
    manager = open_phone(browser, server)
    try:
        manager.sign_in("manager.exeter")
        mpage = manager.page
        expect(mpage.get_by_role("heading", name="Approvals waiting for you")).to_be_visible()
        manager.check("manager-inbox")
        request_link = mpage.get_by_role("link", name=re.compile(r"£30\.00 for food and vouchers"))
        request_href = request_link.get_attribute("href")
        request_link.click()
        expect(mpage.get_by_text(web_county.family_reference)).to_be_visible()
        expect(mpage.get_by_text("No food in the house until payday on Friday")).to_be_visible()
        manager.check("manager-approval")
        mpage.get_by_label("Decline").check()
        mpage.get_by_role("button", name="Send").click()
        expect(mpage.get_by_role("alert")).to_contain_text("Say why you are declining")
        manager.check("manager-approval-error")
        mpage.get_by_label("Ask a question").check()
        mpage.get_by_label("Reason or question").fill("Has the family asked the food bank this week?")
        mpage.get_by_role("button", name="Send").click()
        expect(mpage.get_by_role("status")).to_contain_text("Your question has been sent")

        # The worker answers from their phone (a notification's link to the request leads to
        # the purchase); the manager then approves.
        phone.go(str(request_href))
        assert page.url.split("?")[0] == purchase_url
        phone.go("/")
        page.get_by_role("link", name=re.compile("Answer your manager's question")).click()
        expect(page.get_by_text("Has the family asked the food bank this week?")).to_be_visible()
        page.get_by_label("Your answer").fill("Yes: it is closed until Monday")
        page.get_by_role("button", name="Send answer").click()
        expect(page.get_by_role("status")).to_contain_text("Your answer has been sent")
        phone.check("purchase-answered")
        mpage.get_by_role("link", name=re.compile(r"£30\.00 for food and vouchers")).click()
        expect(mpage.get_by_text("Yes: it is closed until Monday")).to_be_visible()
        mpage.get_by_label("Approve", exact=True).check()
        mpage.get_by_role("button", name="Send").click()
        expect(mpage.get_by_role("status")).to_contain_text("You approved the request")
        manager.check("manager-inbox-after")
        manager.go("/team")
        manager.check("manager-team")
        mpage.get_by_role("button", name="Give budget to a key worker").click()
        mpage.get_by_role("button", name="Give the budget").click()
        expect(mpage.get_by_role("alert")).to_contain_text("Select the key worker")
        manager.check("manager-allocate-errors")
        mpage.get_by_label("Key Worker Exeter 1").check()
        mpage.get_by_label("How much?").fill("50")
        mpage.get_by_label("What is it for?").fill("Extra for a family in crisis")
        mpage.get_by_role("button", name="Give the budget").click()
        expect(mpage.get_by_role("status")).to_contain_text("The budget has been given")
        manager.go("/reviews")
        manager.check("manager-reviews")
        assert manager.hosts <= {f"127.0.0.1:{server.port}"}
    finally:
        manager.context.close()

    # 4. The worker reads the manager's answer in their messages and completes the purchase.
    phone.go("/messages")
    phone.check("worker-messages")
    page.get_by_role("button", name=re.compile(r"Approved: up to £30\.00")).click()
    assert page.url.split("?")[0] == purchase_url
    expect(page.get_by_role("heading", name="Approved")).to_be_visible()
    phone.check("purchase-approved")
    page.get_by_role("button", name="Complete the purchase").click()
    expect(page.get_by_role("status")).to_contain_text("the money is set aside")
    expect(page.get_by_role("heading", name="You can go ahead")).to_be_visible()
    phone.check("purchase-completed")

    # 5. Finance: the month at a glance, and its reports.
    finance = open_phone(browser, server)
    try:
        finance.sign_in("finance")
        # The shoes settle (finance records the capture, as the card processor's feed would):
        # the journey's own spend is in this month's journal, whatever day the test runs on.
        csrf = finance.page.locator('input[name="csrf_token"]').first.get_attribute("value")
        settled = finance.context.request.post(
            f"{finance.base}/api/v1/purchases/{shoes_id}/capture",
            data={"amount_pence": 2499},
            headers={"X-CSRF-Token": str(csrf), "Idempotency-Key": f"journey-shoes-{shoes_id}"},
        )
        assert settled.status == 200, settled.text()
        finance.go("/")
        expect(finance.page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"\w+ \d{4}"))
        finance.check("finance-month")
        finance.go("/finance/grants")
        expect(finance.page.get_by_role("heading", level=1)).to_have_text("Grants")
        finance.check("finance-grants")
        finance.go("/")
        label = finance.page.get_by_label("Show another month").input_value()
        for name in (
            "finance-pack.pdf",
            "gl-journal.csv",
            "transparency.csv",
            "needs-outcomes.csv",
            "reconciliation.csv",
        ):
            link = finance.page.get_by_role("link", name=re.compile(re.escape(name)))
            assert link.get_attribute("href") == f"/api/v1/reports/{label}/{name}"
        with finance.page.expect_download() as download:
            finance.page.get_by_role("link", name=re.compile("gl-journal.csv")).click()
        saved = download.value.path().read_text()
        assert saved.startswith("Journal,Period,Accounting date"), saved[:200]
        assert f",{label}," in saved

        # An exception of the month explained; a month two back (ended, nothing in it) closed.
        fpage = finance.page
        fpage.get_by_role("link", name=re.compile("^Explain")).first.click()
        fpage.get_by_role("button", name="Save the explanation").click()
        expect(fpage.get_by_role("alert")).to_contain_text("Say why this is not a problem")
        finance.check("finance-explain-error")
        fpage.get_by_label("Why is this not a problem").fill("The processor's statement arrives on the 3rd")
        fpage.get_by_role("button", name="Save the explanation").click()
        expect(fpage.get_by_role("status")).to_contain_text("The explanation is recorded")
        expect(fpage.get_by_text("Explained: The processor's statement arrives on the 3rd")).to_be_visible()
        earlier = fpage.get_by_label("Show another month").locator("option").nth(2)
        earlier_name = earlier.inner_text()
        fpage.get_by_label("Show another month").select_option(earlier.get_attribute("value"))
        fpage.get_by_role("button", name="Show").click()
        fpage.get_by_role("button", name=f"Close {earlier_name}").click()
        expect(fpage.get_by_role("status")).to_contain_text("The month is closed")
        expect(fpage.get_by_role("heading", level=1)).to_contain_text("Closed")
        finance.check("finance-month-closed")
    finally:
        finance.context.close()


def test_free_text_that_looks_personal_is_warned_about_as_it_is_typed(phone: Visit, web_county: County) -> None:
    page = phone.page
    phone.sign_in("kw.exeter.01")
    phone.go("/")
    page.get_by_role("button", name="Buy something for a family").click()
    page.get_by_label(web_county.family_reference).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Poor or persistent school absence").check()
    page.get_by_role("button", name="Continue").click()
    warning = page.locator("[data-personal-warning]")
    expect(warning).to_be_hidden()
    page.get_by_label("What is it?").press_sequentially("Coat for Sarah Jones")  # typed, not submitted
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Describe what was bought, not who it was for.")
    expect(warning).not_to_contain_text("Sarah")  # said what kind of thing, never echoed
    page.get_by_label("What is it?").fill("")
    page.get_by_label("What is it?").press_sequentially("Winter coat, age 8")
    expect(warning).to_be_hidden()
