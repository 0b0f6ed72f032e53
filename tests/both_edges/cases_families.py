"""A key worker's and a manager's use cases: buying and what follows, a family's case, asking
ahead and deciding, the conversation on a request, cover, receipt reviews, messages. Each is
sent once as the API's client sends it and once as the page's form does. (A key worker's card,
frozen and unfrozen, is here too: it is the worker's own use case.)"""

from __future__ import annotations

from tests.both_edges import scenes
from tests.both_edges.edges import Case
from wallet.clock import local_date, now_utc

BUY = {"category": "CLOTH", "description": "School shoes", "supplier": "Clarks"}
PURCHASE = ("purchases", "purchase_needs", "ledger_accounts", "approval_requests", "allowances", "notifications")
REQUEST = ("approval_requests", "approval_messages", "allowances", "notifications")


def date_today() -> str:
    """Today (London), as the page's date field holds it by default."""
    return local_date(now_utc()).isoformat()


def _file(name: str) -> dict[str, tuple[str, bytes, str]]:
    return {name: ("receipt.jpg", scenes.JPEG, "image/jpeg")}


FAMILY_CASES = {
    "a key worker buys for a family's need": Case(
        tables=PURCHASE,
        by_api=lambda v: v.api("kw.exeter.01", "POST", "/api/v1/purchases", {
            **BUY, "family_id": v.ids["family"], "need_ids": [v.ids["need"]], "amount_pence": 2_499,
            "payment_method": "card"}),
        by_page=lambda v: v.page("kw.exeter.01", "/buy/check", {
            **BUY, "family": str(v.ids["family"]), "need": str(v.ids["need"]), "amount": "24.99", "method": "card"}),
    ),
    "a key worker reviews a need": Case(
        tables=("need_reviews", "needs"),
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/needs/{v.ids['need']}/reviews", {
            "outcome": "improved", "score": 7}),
        by_page=lambda v: v.page("kw.exeter.01", f"/families/{v.ids['family']}/needs/{v.ids['need']}/review", {
            "outcome": "improved", "score": "7"}),
    ),
    "a key worker closes a family's case": Case(
        tables=("families", "needs", "sustain_checks"),
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/families/{v.ids['family']}/closure", {
            "reason": "outcomes_met"}),
        by_page=lambda v: v.page("kw.exeter.01", f"/families/{v.ids['family']}/close", {"reason": "outcomes_met"}),
    ),
    "a key worker records the six-month check": Case(
        tables=("sustain_checks",),
        scene=scenes.a_closed_family,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/families/{v.ids['family']}/six-month-check", {
            "result": "not_sustained", "note": "Attendance slipped"}),
        by_page=lambda v: v.page("kw.exeter.01", f"/families/{v.ids['family']}/six-month-check", {
            "result": "not_sustained", "checked_on": date_today(), "note": "Attendance slipped"}),
    ),
    "a key worker attaches a receipt": Case(
        tables=("receipts", "receipt_contents", "purchases", "receipt_reviews"),
        scene=scenes.a_purchase,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/purchases/{v.ids['purchase']}/receipts",
                               files=_file("data")),
        by_page=lambda v: v.page("kw.exeter.01", f"/purchases/{v.ids['purchase']}/receipts", {},
                                 files=_file("receipt")),
    ),
    "a key worker cancels a purchase": Case(
        tables=PURCHASE,
        scene=scenes.a_purchase,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/purchases/{v.ids['purchase']}/cancellation"),
        by_page=lambda v: v.page("kw.exeter.01", f"/purchases/{v.ids['purchase']}/cancel", {}),
    ),
    "a key worker completes an approved purchase": Case(
        tables=PURCHASE,
        scene=scenes.an_approved_purchase,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/purchases/{v.ids['purchase']}/complete"),
        by_page=lambda v: v.page("kw.exeter.01", f"/purchases/{v.ids['purchase']}/complete", {}),
    ),
    "a key worker asks a manager ahead": Case(
        tables=REQUEST,
        by_api=lambda v: v.api("kw.exeter.01", "POST", "/api/v1/approvals", {
            "family_id": v.ids["family"], "need_ids": [v.ids["need"]], "category": "HH-ESS", "amount_pence": 18_000,
            "reason": "The family's cooker is broken"}),
        by_page=lambda v: v.page("kw.exeter.01", f"/families/{v.ids['family']}/ask", {
            "need": str(v.ids["need"]), "category": "HH-ESS", "amount": "180.00",
            "reason": "The family's cooker is broken"}),
    ),
    "a manager approves a request for less than asked": Case(
        tables=REQUEST,
        scene=scenes.a_request_ahead,
        by_api=lambda v: v.api("manager.exeter", "POST", f"/api/v1/approvals/{v.ids['request']}/decision", {
            "verdict": "approve", "ceiling_pence": 15_000}),
        by_page=lambda v: v.page("manager.exeter", f"/approvals/{v.ids['request']}", {
            "decision": "approve", "ceiling": "150.00"}),
    ),
    "a manager declines a request": Case(
        tables=REQUEST,
        scene=scenes.a_request_ahead,
        by_api=lambda v: v.api("manager.exeter", "POST", f"/api/v1/approvals/{v.ids['request']}/decision", {
            "verdict": "decline", "reason": "Ask the charity first"}),
        by_page=lambda v: v.page("manager.exeter", f"/approvals/{v.ids['request']}", {
            "decision": "decline", "note": "Ask the charity first"}),
    ),
    "a manager asks the key worker a question": Case(
        tables=REQUEST,
        scene=scenes.a_request_ahead,
        by_api=lambda v: v.api("manager.exeter", "POST", f"/api/v1/approvals/{v.ids['request']}/questions", {
            "body": "Is the cooker repairable?"}),
        by_page=lambda v: v.page("manager.exeter", f"/approvals/{v.ids['request']}", {
            "decision": "ask", "note": "Is the cooker repairable?"}),
    ),
    "a key worker answers the manager's question": Case(
        tables=REQUEST,
        scene=scenes.a_question_to_answer,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/approvals/{v.ids['request']}/messages", {
            "body": "Yes, the older one"}),
        by_page=lambda v: v.page("kw.exeter.01", f"/purchases/{v.ids['purchase']}/answer", {
            "answer": "Yes, the older one"}),
    ),
    "a manager names a deputy": Case(
        tables=("approval_deputies",),
        by_api=lambda v: v.api("manager.exeter", "POST", "/api/v1/deputies", {
            "deputy_id": v.ids["finance"], "starts_on": "2026-12-21", "ends_on": "2027-01-02"}),
        by_page=lambda v: v.page("manager.exeter", "/cover", {
            "deputy": str(v.ids["finance"]), "starts_on": "2026-12-21", "ends_on": "2027-01-02"}),
    ),
    "a manager clears a receipt review": Case(
        tables=("receipt_reviews", "wallets", "notifications"),
        scene=scenes.a_duplicate_receipt,
        by_api=lambda v: v.api("manager.exeter", "POST", f"/api/v1/reviews/{v.ids['review']}/clear", {
            "note": "Two receipts on one till slip"}),
        by_page=lambda v: v.page("manager.exeter", f"/reviews/{v.ids['review']}", {
            "note": "Two receipts on one till slip"}),
    ),
    "a manager reads a message": Case(
        tables=("notifications",),
        scene=scenes.a_notification,
        by_api=lambda v: v.api("manager.exeter", "POST", f"/api/v1/notifications/{v.ids['notification']}/read"),
        by_page=lambda v: v.page("manager.exeter", f"/messages/{v.ids['notification']}", {}),
    ),
    "a manager gives budget to a key worker": Case(
        tables=("allocations", "ledger_accounts"),
        by_api=lambda v: v.api("manager.exeter", "POST", "/api/v1/allocations", {
            "funding_source_id": v.ids["source"], "team_id": v.ids["team"], "wallet_id": v.ids["wallet"],
            "amount_pence": 5_000, "reason": "Extra for a family in crisis"}),
        by_page=lambda v: v.page("manager.exeter", "/team/allocate", {
            "wallet": str(v.ids["wallet"]), "amount": "50", "reason": "Extra for a family in crisis"}),
    ),
    "a key worker freezes their card": Case(
        tables=("cards",),
        scene=scenes.a_card,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/cards/{v.ids['card']}/freeze"),
        by_page=lambda v: v.page("kw.exeter.01", f"/cards/{v.ids['card']}/freeze", {}),
    ),
    "a key worker unfreezes their card": Case(
        tables=("cards",),
        scene=scenes.a_frozen_card,
        by_api=lambda v: v.api("kw.exeter.01", "POST", f"/api/v1/cards/{v.ids['card']}/unfreeze"),
        by_page=lambda v: v.page("kw.exeter.01", f"/cards/{v.ids['card']}/unfreeze", {}),
    ),
}  # fmt: skip
