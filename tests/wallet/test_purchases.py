"""Making a purchase over the API: the policy's three answers, the hold, settling, refunds and retries."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.wallet.support import County, SignedIn, Worker, purchase_body
from wallet.policy import DEFAULT_POLICY


async def worker_signed_in(county: County, *, wallet_pence: int = 50_000) -> tuple[Worker, SignedIn]:
    worker = await county.new_key_worker(wallet_pence=wallet_pence)
    return worker, await county.bearer(worker)


async def wallet(client: AsyncTestClient[Any], me: SignedIn) -> dict[str, Any]:
    """The signed-in key worker's wallet as the API shows it."""
    response = await client.get(f"/api/v1/wallets/{me.wallet_id}", headers=me.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def held_purchase(
    county: County, client: AsyncTestClient[Any], amount: int = 4_250
) -> tuple[Worker, SignedIn, int]:
    """A worker's allowed purchase of ``amount``, held in their wallet of £500."""
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)
    made = await client.post("/api/v1/purchases", json=purchase_body(case, amount), headers=me.with_key())
    assert made.status_code == 201, made.text
    return worker, me, int(made.json()["purchase"]["id"])


# The policy's three answers --------------------------------------------------------------


async def test_an_allowed_purchase_is_held_and_the_wallet_has_that_much_less_to_spend(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker, needs=("EDU-ATT", "HOU-COND"))

    made = await client.post(
        "/api/v1/purchases", json=purchase_body(case, 4_250, need_ids=case.need_ids), headers=me.with_key()
    )

    assert made.status_code == 201, made.text
    body = made.json()
    assert body["decision"] == "allow"
    assert body["reasons"] == []
    assert body["message"] == "Allowed: this purchase is within every limit."
    assert body["purchase"]["status"] == "held"
    assert body["purchase"]["amount_pence"] == 4_250
    assert body["purchase"]["need_ids"] == sorted(case.need_ids)
    assert body["purchase"]["receipt_required"] is True
    after = await wallet(client, me)
    assert (after["available_pence"], after["held_pence"]) == (50_000 - 4_250, 4_250)
    assert await county.available(worker.wallet_id) == 45_750


async def test_a_purchase_over_the_approval_limit_waits_for_a_manager_and_holds_nothing(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    made = await client.post("/api/v1/purchases", json=purchase_body(case, 15_000), headers=me.with_key())

    assert made.status_code == 202, made.text
    body = made.json()
    assert body["decision"] == "needs_approval"
    assert [r["code"] for r in body["reasons"]] == ["purchase_over_10000"]
    assert body["message"] == "A purchase above £100.00 needs a manager's approval. Your manager has been asked."
    assert body["purchase"]["status"] == "needs_approval"
    assert body["approval_request_id"] is not None
    after = await wallet(client, me)
    assert (after["available_pence"], after["held_pence"]) == (50_000, 0)


async def test_a_denied_purchase_is_refused_with_402_and_kept_as_declined_with_its_reasons(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    made = await client.post("/api/v1/purchases", json=purchase_body(case, 26_000), headers=me.with_key())

    assert made.status_code == 402, made.text
    assert made.headers["content-type"].startswith("application/problem+json")
    problem = made.json()
    assert problem["type"] == "urn:tide:problem:purchase-declined"
    assert [r["code"] for r in problem["reasons"]] == [
        "purchase_over_25000",
        "purchase_over_10000",
        "family_period_cap",
    ]
    assert problem["reasons"][0]["effect"] == "deny"
    assert problem["detail"].startswith("A purchase above £250.00 is not allowed.")
    recorded = await client.get(f"/api/v1/purchases/{problem['purchase']['id']}", headers=me.headers)
    assert recorded.status_code == 200
    assert recorded.json()["status"] == "declined"
    assert recorded.json()["decision"] == "deny"
    assert recorded.json()["reason_codes"] == ["purchase_over_25000", "purchase_over_10000", "family_period_cap"]
    assert (await wallet(client, me))["available_pence"] == 50_000


async def test_a_purchase_in_a_forbidden_category_is_declined_whatever_its_amount(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    made = await client.post(
        "/api/v1/purchases", json=purchase_body(case, 500, category="ALCOHOL"), headers=me.with_key()
    )

    assert made.status_code == 402
    assert [r["code"] for r in made.json()["reasons"]] == ["category_ALCOHOL"]
    assert made.json()["purchase"]["status"] == "declined"


async def test_a_purchase_the_wallet_cannot_cover_is_refused_as_insufficient_funds_and_kept(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county, wallet_pence=2_000)
    case = await county.open_family(worker)

    made = await client.post("/api/v1/purchases", json=purchase_body(case, 5_000), headers=me.with_key())

    assert made.status_code == 402, made.text
    problem = made.json()
    assert problem["reasons"] == [
        {"code": "insufficient_funds", "effect": "deny", "sentence": "Your wallet does not have enough left for this."}
    ]
    assert problem["purchase"]["status"] == "declined"
    assert problem["purchase"]["decision"] == "allow", "the policy allowed it; the wallet could not cover it"
    assert problem["purchase"]["reason_codes"] == ["insufficient_funds"]
    assert await county.purchase_count(wallet_id=worker.wallet_id, status="declined") == 1
    assert await county.available(worker.wallet_id) == 2_000


# What a purchase must answer -------------------------------------------------------------


async def test_a_purchase_for_another_familys_need_is_refused_and_changes_nothing(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    mine = await county.open_family(worker)
    theirs = await county.open_family(worker, needs=("DA",))

    made = await client.post(
        "/api/v1/purchases",
        json=purchase_body(mine, 1_000, need_ids=theirs.need_ids),
        headers=me.with_key(),
    )

    assert made.status_code == 422
    assert made.json()["type"] == "urn:tide:problem:need-not-open"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0
    assert await county.available(worker.wallet_id) == 50_000


async def test_a_purchase_for_a_closed_need_is_refused(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker, needs=("HOU-COND", "EDU-ATT"))
    reviewed = await client.post(
        f"/api/v1/needs/{case.need_ids[0]}/reviews",
        json={"outcome": "improved", "score": 8, "close_need": True},
        headers=me.headers,
    )
    assert reviewed.status_code == 201, reviewed.text

    made = await client.post("/api/v1/purchases", json=purchase_body(case, 1_000), headers=me.with_key())

    assert made.status_code == 422
    assert made.json()["type"] == "urn:tide:problem:need-not-open"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0


async def test_a_purchase_for_a_closed_family_is_refused(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)
    closed = await client.post(
        f"/api/v1/families/{case.family_id}/closure", json={"reason": "outcomes_met"}, headers=me.headers
    )
    assert closed.status_code == 200, closed.text

    made = await client.post("/api/v1/purchases", json=purchase_body(case, 1_000), headers=me.with_key())

    assert made.status_code == 409
    assert made.json()["type"] == "urn:tide:problem:family-closed"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0
    assert await county.available(worker.wallet_id) == 50_000


async def test_a_purchase_for_a_family_the_worker_does_not_work_with_is_not_found(
    county: County, client: AsyncTestClient[Any]
) -> None:
    colleague = await county.new_key_worker()
    their_case = await county.open_family(colleague)
    worker, me = await worker_signed_in(county)

    made = await client.post("/api/v1/purchases", json=purchase_body(their_case, 1_000), headers=me.with_key())

    assert made.status_code == 404
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0


async def test_a_purchase_in_an_unknown_category_is_refused_as_invalid(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    made = await client.post(
        "/api/v1/purchases", json=purchase_body(case, 1_000, category="YACHTS"), headers=me.with_key()
    )

    assert made.status_code == 422
    assert made.json()["type"] == "urn:tide:problem:unknown-code"
    assert "YACHTS" in made.json()["detail"]
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0


async def test_a_purchase_naming_a_funding_source_that_does_not_exist_is_not_found_and_nothing_is_bought(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    made = await client.post(
        "/api/v1/purchases", json=purchase_body(case, 1_000, funding_source_id=999_999), headers=me.with_key()
    )

    assert made.status_code == 404, made.text
    assert made.json()["detail"] == "no funding source 999999"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0
    assert await county.available(worker.wallet_id) == 50_000


# Cancelling, settling and refunding ------------------------------------------------------


async def test_cancelling_a_held_purchase_gives_the_money_back_to_the_wallet(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me, purchase_id = await held_purchase(county, client, 4_250)
    assert await county.available(worker.wallet_id) == 45_750

    cancelled = await client.post(f"/api/v1/purchases/{purchase_id}/cancellation", headers=me.headers)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    after = await wallet(client, me)
    assert (after["available_pence"], after["held_pence"]) == (50_000, 0)
    again = await client.post(f"/api/v1/purchases/{purchase_id}/cancellation", headers=me.headers)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:tide:problem:purchase-not-in-state"


async def test_finance_captures_part_of_a_hold_and_the_rest_goes_back_to_the_wallet(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await held_purchase(county, client, 4_250)
    finance = await county.bearer("finance")

    captured = await client.post(
        f"/api/v1/purchases/{purchase_id}/capture", json={"amount_pence": 3_999}, headers=finance.with_key()
    )

    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "captured"
    assert captured.json()["captured_pence"] == 3_999
    after = await wallet(client, me)
    assert (after["available_pence"], after["held_pence"]) == (50_000 - 3_999, 0)
    assert after["spent_this_month_pence"] == 3_999


async def test_finance_refunds_in_parts_up_to_what_was_captured(county: County, client: AsyncTestClient[Any]) -> None:
    worker, _, purchase_id = await held_purchase(county, client, 4_000)
    finance = await county.bearer("finance")
    url = f"/api/v1/purchases/{purchase_id}"
    assert (await client.post(f"{url}/capture", json={"amount_pence": 4_000}, headers=finance.with_key())).is_success

    first = await client.post(f"{url}/refunds", json={"amount_pence": 1_500}, headers=finance.with_key())
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["refunded_pence"]) == ("partly_refunded", 1_500)
    assert await county.available(worker.wallet_id) == 50_000 - 4_000 + 1_500

    rest = await client.post(f"{url}/refunds", json={"amount_pence": 2_500}, headers=finance.with_key())
    assert rest.status_code == 200, rest.text
    assert (rest.json()["status"], rest.json()["refunded_pence"]) == ("refunded", 4_000)
    assert await county.available(worker.wallet_id) == 50_000


async def test_a_refund_beyond_what_was_captured_is_refused_and_changes_nothing(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, _, purchase_id = await held_purchase(county, client, 4_000)
    finance = await county.bearer("finance")
    url = f"/api/v1/purchases/{purchase_id}"
    assert (await client.post(f"{url}/capture", json={"amount_pence": 3_000}, headers=finance.with_key())).is_success
    assert (await client.post(f"{url}/refunds", json={"amount_pence": 1_000}, headers=finance.with_key())).is_success

    refused = await client.post(f"{url}/refunds", json={"amount_pence": 2_001}, headers=finance.with_key())

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:tide:problem:refund-exceeds-capture"
    settled = (await client.get(url, headers=finance.headers)).json()
    assert (settled["status"], settled["captured_pence"], settled["refunded_pence"]) == (
        "partly_refunded",
        3_000,
        1_000,
    )
    assert await county.available(worker.wallet_id) == 50_000 - 3_000 + 1_000


async def test_a_key_worker_cannot_capture_their_own_purchase(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me, purchase_id = await held_purchase(county, client, 4_250)

    refused = await client.post(
        f"/api/v1/purchases/{purchase_id}/capture", json={"amount_pence": 4_250}, headers=me.with_key()
    )

    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tide:problem:not-allowed"
    assert (await client.get(f"/api/v1/purchases/{purchase_id}", headers=me.headers)).json()["status"] == "held"
    assert await county.available(worker.wallet_id) == 45_750


async def test_a_cancelled_purchase_cannot_be_captured(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await held_purchase(county, client)
    assert (await client.post(f"/api/v1/purchases/{purchase_id}/cancellation", headers=me.headers)).is_success
    finance = await county.bearer("finance")

    refused = await client.post(
        f"/api/v1/purchases/{purchase_id}/capture", json={"amount_pence": 100}, headers=finance.with_key()
    )

    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:tide:problem:purchase-not-in-state"


# Retries: the Idempotency-Key ------------------------------------------------------------


async def test_a_retried_purchase_answers_the_first_response_again_and_buys_nothing_more(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)
    headers = me.with_key("retry-shoes-1")

    first = await client.post("/api/v1/purchases", json=purchase_body(case, 4_250), headers=headers)
    again = await client.post("/api/v1/purchases", json=purchase_body(case, 4_250), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 1
    assert await county.available(worker.wallet_id) == 50_000 - 4_250


async def test_a_retried_decline_is_answered_with_the_same_decline(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)
    headers = me.with_key()

    first = await client.post("/api/v1/purchases", json=purchase_body(case, 26_000), headers=headers)
    again = await client.post("/api/v1/purchases", json=purchase_body(case, 26_000), headers=headers)

    assert first.status_code == again.status_code == 402
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"] == "application/problem+json"
    assert again.headers["idempotent-replayed"] == "true"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 1


async def test_the_same_key_with_a_different_body_is_refused_with_409(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)
    headers = me.with_key()
    assert (await client.post("/api/v1/purchases", json=purchase_body(case, 4_250), headers=headers)).status_code == 201

    reused = await client.post("/api/v1/purchases", json=purchase_body(case, 4_251), headers=headers)

    assert reused.status_code == 409
    assert reused.json()["type"] == "urn:tide:problem:idempotency-key-reused"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 1
    assert await county.available(worker.wallet_id) == 50_000 - 4_250


async def test_a_purchase_without_an_idempotency_key_is_refused_with_400_and_nothing_is_bought(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    refused = await client.post("/api/v1/purchases", json=purchase_body(case, 4_250), headers=me.headers)

    assert refused.status_code == 400
    assert refused.json()["type"] == "urn:tide:problem:idempotency-key-invalid"
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0
    assert await county.available(worker.wallet_id) == 50_000


async def test_a_capture_or_refund_without_an_idempotency_key_is_refused_with_400(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, _, purchase_id = await held_purchase(county, client)
    finance = await county.bearer("finance")
    url = f"/api/v1/purchases/{purchase_id}"

    capture = await client.post(f"{url}/capture", json={"amount_pence": 100}, headers=finance.headers)
    refund = await client.post(f"{url}/refunds", json={"amount_pence": 100}, headers=finance.headers)

    assert (capture.status_code, refund.status_code) == (400, 400)
    assert (await client.get(url, headers=finance.headers)).json()["status"] == "held"


async def test_an_idempotency_key_longer_than_100_characters_is_refused(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)

    refused = await client.post("/api/v1/purchases", json=purchase_body(case), headers=me.with_key("k" * 101))

    assert refused.status_code == 400
    assert await county.purchase_count(wallet_id=worker.wallet_id) == 0


async def test_a_retried_capture_or_refund_moves_the_money_once(county: County, client: AsyncTestClient[Any]) -> None:
    worker, _, purchase_id = await held_purchase(county, client, 4_000)
    finance = await county.bearer("finance")
    url = f"/api/v1/purchases/{purchase_id}"
    capture_key, refund_key = finance.with_key(), finance.with_key()

    captures = [await client.post(f"{url}/capture", json={"amount_pence": 4_000}, headers=capture_key) for _ in "ab"]
    refunds = [await client.post(f"{url}/refunds", json={"amount_pence": 1_500}, headers=refund_key) for _ in "ab"]

    assert [r.status_code for r in captures + refunds] == [200, 200, 200, 200]
    assert captures[1].json() == captures[0].json()
    assert refunds[1].json() == refunds[0].json()
    assert [r.headers.get("idempotent-replayed") for r in captures + refunds] == [None, "true", None, "true"]
    settled = (await client.get(url, headers=finance.headers)).json()
    assert (settled["captured_pence"], settled["refunded_pence"]) == (4_000, 1_500)
    assert await county.available(worker.wallet_id) == 50_000 - 4_000 + 1_500


# The policy in force ---------------------------------------------------------------------


async def test_purchases_are_asked_of_the_newest_published_policy(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me = await worker_signed_in(county)
    case = await county.open_family(worker)
    admin = await county.bearer("admin")
    second_admin = await county.bearer(await county.new_person("admin"))
    tighter = [
        *DEFAULT_POLICY.model_dump(mode="json")["rules"],
        {"kind": "purchase_over", "limit": 2_000, "scope": "worker", "scope_id": worker.person_id},
    ]

    async def publish(rules: list[Any], note: str) -> None:
        proposed = await client.put("/api/v1/policy", json={"rules": rules, "note": note}, headers=admin.headers)
        assert proposed.status_code == 202, proposed.text
        confirmed = await client.post(
            f"/api/v1/proposals/{proposed.json()['id']}/confirmation", headers=second_admin.headers
        )
        assert confirmed.status_code == 200, confirmed.text

    await publish(tighter, "a new starter")
    try:
        made = await client.post("/api/v1/purchases", json=purchase_body(case, 4_250), headers=me.with_key())
    finally:
        await publish(DEFAULT_POLICY.model_dump(mode="json")["rules"], "back to the default")

    assert made.status_code == 202, made.text
    assert [r["code"] for r in made.json()["reasons"]] == ["purchase_over_2000"]


async def test_a_policy_that_does_not_make_sense_is_not_published(county: County, client: AsyncTestClient[Any]) -> None:
    admin = await county.bearer("admin")
    before = (await client.get("/api/v1/policy", headers=admin.headers)).json()

    refused = await client.put(
        "/api/v1/policy",
        json={"rules": [{"kind": "purchase_over", "limit": -100}], "note": "oops"},
        headers=admin.headers,
    )

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:tide:problem:invalid-policy"
    assert (await client.get("/api/v1/policy", headers=admin.headers)).json() == before


async def test_only_an_admin_publishes_a_policy(county: County, client: AsyncTestClient[Any]) -> None:
    manager = await county.bearer("manager.exeter")

    refused = await client.put(
        "/api/v1/policy", json={"rules": [], "note": "no limits for my team"}, headers=manager.headers
    )

    assert refused.status_code == 403
    assert len((await client.get("/api/v1/policy", headers=manager.headers)).json()["rules"]) == 7
