"""A stateful fake of the Stripe Issuing endpoints Tide uses, on loopback, that plays the card
network too. Driven by the real stripe-python client through ``base_addresses``.

What it does, as Stripe does (``../shared/stripe/ISSUING.md``):

* ``/v1/issuing/cardholders``, ``/v1/issuing/cards`` (create, update, retrieve),
  ``/v1/issuing/authorizations/{id}``, ``/v1/issuing/transactions`` and ``/v1/events``
  (lists), honouring ``Idempotency-Key`` (the same key answers the first response again).
* The test helpers ``/v1/test_helpers/issuing/authorizations`` (create, ``capture``,
  ``increment``, ``reverse``, ``expire``) and ``/v1/test_helpers/issuing/transactions``
  (``create_force_capture``, ``create_unlinked_refund``, ``{id}/refund``).
* As the network: an authorization first meets Stripe's own controls (card status,
  blocked categories, the per-authorization limit: declined without asking). Otherwise it
  signs ``issuing_authorization.request`` with the authorization secret, posts it to the app
  and times it: no answer within ``timeout`` → the configured default (``on_timeout``) with
  ``webhook_timeout``; a non-200, a missing ``Stripe-Version`` or a malformed body →
  declined with ``webhook_error``; a partial ``amount`` only when the amount is
  controllable. With ``network_down`` set, the network stands in and approves
  (``network_fallback``) without asking. ``request_history`` records each outcome.
* Then the follow-up events (``issuing_authorization.created/updated``,
  ``issuing_transaction.created``, ``issuing_dispute.created``), signed with the webhook
  secret. ``auto_deliver`` sends each soon after, in order, from a thread of its own (as
  Stripe does, asynchronously: ``settle`` waits for them); otherwise they wait in ``outbox``
  until ``deliver`` sends them, in order or shuffled, duplicated, with some dropped
  (dropped ones stay in ``/v1/events``, where ``wallet stripe sync`` finds them).

Every object is built from Stripe's own example of its type in ``fixtures3.json`` (deep
copied, then filled in), so it has exactly that shape; ``tests/cards/test_fake_shapes.py``
checks it.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import queue
import random
import secrets
import threading
import time
import typing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import stripe

from api.stripe_gateway import http_client
from ledger.clock import now_utc

#: Stripe's example objects (MIT, from Stripe's OpenAPI repository), beside the checkout.
FIXTURES = Path(
    os.environ.get("TIDE_STRIPE_FIXTURES", Path(__file__).resolve().parents[1] / "data/stripe/fixtures3.json")
)
API_VERSION = "2026-10-28.endive"
#: Where a request's ``Stripe-Version`` header is handed to the routes (not a Stripe parameter).
STRIPE_VERSION = "__stripe_version"
#: Stripe's test helpers that move a physical card's shipment on, and the status each sets.
SHIPPING_HELPERS = {"ship": "shipped", "deliver": "delivered", "return": "returned", "fail": "failure"}
_counter = itertools.count(1)


def _literals(annotation: object) -> set[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return {str(value) for value in typing.get_args(annotation)}
    return set().union(*(_literals(inner) for inner in typing.get_args(annotation)))


def stripe_categories() -> frozenset[str]:
    """Every ``merchant_data.category`` Stripe sends, as the installed stripe-python's type
    annotations list them (the spending controls' categories name them all)."""
    slugs: set[str] = set()
    for controls in (stripe.issuing.Card.SpendingControls, stripe.issuing.Cardholder.SpendingControls):
        hints = typing.get_type_hints(controls)
        slugs |= _literals(hints["allowed_categories"]) | _literals(hints["blocked_categories"])
    return frozenset(slugs)


#: What the fake's merchants may be: Stripe refuses any other ``merchant_data[category]``.
CATEGORIES = stripe_categories()


def _category(merchant: dict[str, Any]) -> str:
    category = str(merchant.get("category", "grocery_stores_supermarkets"))
    if category not in CATEGORIES:
        raise ValueError(f"Invalid merchant_data[category]: {category!r} is not one of Stripe's categories")
    return category


def templates() -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def new_id(prefix: str) -> str:
    return f"{prefix}_fake{next(_counter):06d}{secrets.token_hex(4)}"


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=1``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = root
        for part, following in itertools.pairwise(parts):
            child_is_list = following.isdigit()
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append([] if child_is_list else {})
                node = node[index]
            else:
                node = node.setdefault(part, [] if child_is_list else {})
        last = parts[-1]
        if isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    return root


def network_id_of(name: str) -> str:
    """The acquirer's id for a merchant (one per merchant, as the network gives it)."""
    return str(int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**10).zfill(10)


def _int(value: Any, default: int = 0) -> int:
    return default if value in (None, "") else int(value)


def _bool(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


@dataclass
class Delivery:
    """One event on its way to the app's webhook endpoint, and what came of it."""

    event: dict[str, Any]
    status: int | None = None


@dataclass
class FakeStripe:
    """The fake. ``authorization_url`` and ``webhook_url`` are the app's two endpoints."""

    authorization_url: str
    webhook_url: str
    authorization_secret: str = "whsec_fake_authorization"  # noqa: S105 - a test secret
    webhook_secret: str = "whsec_fake_webhook"  # noqa: S105 - a test secret
    timeout: float = 2.0
    on_timeout: str = "decline"
    auto_deliver: bool = True
    network_down: bool = False
    cardholders: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    requests_seen: list[tuple[str, str]] = field(default_factory=list)
    #: Ephemeral keys made, by secret: the card each shows, and the nonce used (once only).
    ephemeral_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Answers to authorization requests, in order: (event id, HTTP status, body, seconds).
    answers: list[tuple[str, int | None, Any, float]] = field(default_factory=list)
    _idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _queue: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)
    _server: ThreadingHTTPServer | None = None
    _clock: int = field(default_factory=lambda: int(now_utc().timestamp()))

    # Serving -------------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # quiet
                return

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                params = parse_form(raw if method == "POST" else parts.query)
                key = self.headers.get("idempotency-key") if method == "POST" else None
                params[STRIPE_VERSION] = self.headers.get("stripe-version")
                status, payload = fake.handle(method, parts.path, params, key)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", new_id("req"))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        threading.Thread(target=self._deliver_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client(self, *, retries: int = 2) -> stripe.StripeClient:
        """The real stripe-python client, pointed here."""
        return stripe.StripeClient(
            "sk_test_fake",
            stripe_version=API_VERSION,
            base_addresses={"api": self.base_url},
            max_network_retries=retries,
            http_client=http_client(30),
        )

    def now(self) -> int:
        """Stripe's clock: a second later at every event, so ``created`` orders them."""
        with self._lock:
            self._clock = max(self._clock + 1, int(now_utc().timestamp()))
            return self._clock

    # The API -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests_seen.append((method, path))
            if key is not None and key in self._idempotent:
                return self._idempotent[key]
        try:
            answer = self._route(method, path.rstrip("/"), params)
        except LookupError as exc:
            answer = 404, {"error": {"type": "invalid_request_error", "message": f"No such object: {exc}"}}
        except ValueError as exc:
            answer = 400, {"error": {"type": "invalid_request_error", "message": str(exc)}}
        if key is not None and answer[0] < 500:
            with self._lock:
                self._idempotent.setdefault(key, answer)
                return self._idempotent[key]
        return answer

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: PLR0911, PLR0912 - one return per endpoint
        parts = path.split("/")[2:]  # after /v1
        match method, parts:
            case "POST", ["issuing", "cardholders"]:
                return 200, self.create_cardholder(params)
            case "POST", ["issuing", "cardholders", cardholder_id]:
                return 200, self.update_cardholder(cardholder_id, params)
            case "GET", ["issuing", "cardholders", cardholder_id]:
                return 200, self.cardholders[cardholder_id]
            case "POST", ["issuing", "cards"]:
                return 200, self.create_card(params)
            case "POST", ["issuing", "cards", card_id]:
                return 200, self.update_card(card_id, params)
            case "GET", ["issuing", "cards", card_id]:
                return 200, self.cards[card_id]
            case "POST", ["ephemeral_keys"]:
                return 200, self.create_ephemeral_key(params)
            case "POST", ["test_helpers", "issuing", "cards", card_id, "shipping", action]:
                return 200, self.move_shipment(card_id, action)
            case "GET", ["issuing", "authorizations", authorization_id]:
                return 200, self.authorizations[authorization_id]
            case "GET", ["issuing", "transactions"]:
                return 200, self._list("/v1/issuing/transactions", list(self.transactions.values()), params)
            case "GET", ["events"]:
                return 200, self._list("/v1/events", self.events, params)
            case "POST", ["test_helpers", "issuing", "authorizations"]:
                return 200, self.authorize(params)
            case "POST", ["test_helpers", "issuing", "authorizations", authorization_id, action]:
                return 200, self.act_on_authorization(authorization_id, action, params)
            case "POST", ["test_helpers", "issuing", "transactions", "create_force_capture"]:
                return 200, self.transaction(params, kind="capture", authorization=None)
            case "POST", ["test_helpers", "issuing", "transactions", "create_unlinked_refund"]:
                return 200, self.transaction(params, kind="refund", authorization=None)
            case "POST", ["test_helpers", "issuing", "transactions", transaction_id, "refund"]:
                return 200, self.refund(transaction_id, params)
        raise LookupError(path)

    def _list(self, url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        created = params.get("created") or {}
        chosen = [
            item
            for item in items
            if _int(created.get("gte"), 0) <= item["created"] < _int(created.get("lt"), 2**62)
            and (not params.get("types") or item.get("type") in params["types"])
        ]
        chosen.sort(key=lambda item: (-item["created"], item["id"]))  # newest first, as Stripe lists
        start = 0
        if params.get("starting_after"):
            start = next(i for i, item in enumerate(chosen) if item["id"] == params["starting_after"]) + 1
        limit = _int(params.get("limit"), 10)
        page = chosen[start : start + limit]
        return {"object": "list", "url": url, "has_more": start + limit < len(chosen), "data": page}

    # Cardholders and cards -----------------------------------------------------------------

    def create_cardholder(self, params: dict[str, Any]) -> dict[str, Any]:
        holder = copy.deepcopy(templates()["issuing.cardholder"])
        holder.update(
            id=new_id("ich"),
            created=self.now(),
            name=params.get("name", holder["name"]),
            email=params.get("email"),
            phone_number=params.get("phone_number"),
            metadata=params.get("metadata") or {},
            status=params.get("status", "active"),
            type=params.get("type", "individual"),
        )
        holder["billing"]["address"].update((params.get("billing") or {}).get("address") or {})
        with self._lock:
            self.cardholders[holder["id"]] = holder
        self.emit("issuing_cardholder.created", holder)
        return holder

    def update_cardholder(self, cardholder_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """``Cardholder.modify``: the parameters sent replace those fields (``billing`` whole, its
        address's unsent fields emptied), the rest stay; ``issuing_cardholder.updated`` follows
        with the fields' previous values."""
        holder = self.cardholders[cardholder_id]
        previous: dict[str, Any] = {}
        for name in ("phone_number", "email", "status", "metadata"):
            if name in params:
                previous[name] = copy.deepcopy(holder.get(name))
                holder[name] = params[name]
        if "billing" in params:
            previous["billing"] = copy.deepcopy(holder["billing"])
            address = dict.fromkeys(holder["billing"]["address"])
            address.update((params["billing"] or {}).get("address") or {})
            if not (address.get("line1") and address.get("city") and address.get("country")):
                raise ValueError("billing[address] needs line1, city and country")
            holder["billing"] = {"address": address}
        self.emit("issuing_cardholder.updated", holder, previous)
        return holder

    def create_card(self, params: dict[str, Any]) -> dict[str, Any]:
        holder = self.cardholders[params["cardholder"]]
        card = copy.deepcopy(templates()["issuing.card"])
        controls = params.get("spending_controls") or {}
        card["spending_controls"].update(
            allowed_merchant_countries=controls.get("allowed_merchant_countries"),
            blocked_categories=controls.get("blocked_categories"),
            spending_limits=[
                {"amount": _int(limit["amount"]), "categories": None, "interval": limit["interval"]}
                for limit in controls.get("spending_limits") or []
            ],
            spending_limits_currency="gbp" if controls.get("spending_limits") else None,
        )
        card.update(
            id=new_id("ic"),
            created=self.now(),
            cardholder=copy.deepcopy(holder),
            currency=params.get("currency", "gbp"),
            type=params.get("type", "virtual"),
            status=params.get("status", "inactive"),
            last4=f"{random.randint(0, 9999):04d}",
            metadata=params.get("metadata") or {},
            replacement_for=params.get("replacement_for"),
            replacement_reason=params.get("replacement_reason"),
            shipping=self._shipping(card["shipping"], params) if params.get("type") == "physical" else None,
        )
        with self._lock:
            self.cards[card["id"]] = card
            if card["replacement_for"]:
                self.cards[card["replacement_for"]]["replaced_by"] = card["id"]
        self.emit("issuing_card.created", card)
        return card

    @staticmethod
    def _shipping(template: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """A physical card's ``shipping``: Stripe refuses a physical card without an address."""
        asked = params.get("shipping") or {}
        address = asked.get("address") or {}
        missing = [f for f in ("line1", "city", "postal_code", "country") if not address.get(f)]
        if not asked.get("name") or missing:
            raise ValueError(f"Missing required param: shipping[address][{(missing or ['name'])[0]}]")
        shipping = copy.deepcopy(template)
        shipping["address"].update({f: address.get(f) for f in shipping["address"]})
        shipping["address_validation"]["normalized_address"] = None
        shipping.update(
            name=asked["name"],
            service=asked.get("service", "standard"),
            type=asked.get("type", "individual"),
            status="pending",
            carrier=None,
            tracking_number=None,
            tracking_url=None,
            eta=None,
        )
        return shipping

    def move_shipment(self, card_id: str, action: str) -> dict[str, Any]:
        """Stripe's ``test_helpers/issuing/cards/{card}/shipping/{ship|deliver|return|fail}``."""
        card = self.cards[card_id]
        if card["type"] != "physical" or action not in SHIPPING_HELPERS:
            raise ValueError("only a physical card's shipment moves on")
        previous = {"shipping": copy.deepcopy(card["shipping"])}
        card["shipping"].update(status=SHIPPING_HELPERS[action])
        if action == "ship":
            card["shipping"].update(carrier="royal_mail", tracking_number=f"RM{random.randint(10**8, 10**9 - 1)}GB")
        self.emit("issuing_card.updated", card, previous)
        return card

    def create_ephemeral_key(self, params: dict[str, Any]) -> dict[str, Any]:
        """An ephemeral key for Issuing Elements: the API version must be named on the call, the
        card must exist, and the nonce (made by Stripe.js) is good for one key only."""
        if not params.get(STRIPE_VERSION):
            raise ValueError("Stripe-Version header is required to create an ephemeral key")
        card_id, nonce = params.get("issuing_card"), params.get("nonce")
        if not card_id or not str(nonce or "").startswith("ephkn_"):
            raise ValueError("an Issuing ephemeral key needs issuing_card and a nonce from Stripe.js")
        card = self.cards[str(card_id)]
        with self._lock:
            if any(made["nonce"] == nonce for made in self.ephemeral_keys.values()):
                raise ValueError("This nonce has already been used")
            key = copy.deepcopy(templates()["ephemeral_key"])
            key.update(
                id=new_id("ephkey"),
                created=self.now(),
                expires=self.now() + 3600,
                secret=f"ek_test_{secrets.token_urlsafe(24)}",
                associated_objects=[{"id": card["id"], "type": "issuing.card"}],
            )
            self.ephemeral_keys[key["secret"]] = {"card": card["id"], "nonce": nonce}
        return key

    def update_card(self, card_id: str, params: dict[str, Any]) -> dict[str, Any]:
        card = self.cards[card_id]
        previous = {"status": card["status"]}
        if card["status"] == "canceled":
            raise ValueError("a canceled card cannot be changed")
        if "status" in params:
            card["status"] = params["status"]
        if "cancellation_reason" in params:
            card["cancellation_reason"] = params["cancellation_reason"]
        self.emit("issuing_card.updated", card, previous)
        return card

    # The card network ----------------------------------------------------------------------

    def _controls_say(self, card: dict[str, Any], amount: int, category: str, country: str) -> str | None:
        if card["status"] != "active":
            return "card_inactive" if card["status"] == "inactive" else "card_canceled"
        controls = card["spending_controls"]
        if category in (controls.get("blocked_categories") or []):
            return "spending_controls"
        if controls.get("allowed_merchant_countries") and country not in controls["allowed_merchant_countries"]:
            return "spending_controls"
        limits = [
            limit["amount"]
            for limit in controls.get("spending_limits") or []
            if limit["interval"] == "per_authorization"
        ]
        if limits and amount > min(limits):
            return "spending_controls"
        return None

    def authorize(self, params: dict[str, Any]) -> dict[str, Any]:
        """A card used at a till: Stripe's controls, then Tide asked, then ``.created``."""
        card = self.cards[params["card"]]
        amount = _int(params.get("amount"))
        merchant = params.get("merchant_data") or {}
        auth = copy.deepcopy(templates()["issuing.authorization"])
        auth["merchant_data"].update(
            category=_category(merchant),
            category_code=merchant.get("category_code", "5411"),
            name=merchant.get("name", "Tesco Stores"),
            city=merchant.get("city", "Exeter"),
            country=merchant.get("country", "GB"),
            postal_code=merchant.get("postal_code", "EX1 1AA"),
            state=None,
            network_id=merchant.get("network_id") or network_id_of(merchant.get("name", "Tesco Stores")),
        )
        controllable = _bool(params.get("is_amount_controllable", "false"))
        auth.update(
            id=new_id("iauth"),
            created=self.now(),
            amount=0,
            approved=False,
            card=copy.deepcopy(card),
            cardholder=card["cardholder"]["id"],
            currency=params.get("currency", "gbp"),
            merchant_amount=0,
            merchant_currency=params.get("currency", "gbp"),
            status="pending",
            request_history=[],
            transactions=[],
            metadata={},
            authorization_method=params.get("authorization_method", "contactless"),
            pending_request={
                "amount": amount,
                "amount_details": {"atm_fee": None, "cashback_amount": None},
                "currency": params.get("currency", "gbp"),
                "is_amount_controllable": controllable,
                "merchant_amount": amount,
                "merchant_currency": params.get("currency", "gbp"),
                "network_risk_score": None,
            },
        )
        with self._lock:
            self.authorizations[auth["id"]] = auth
        approved_amount, reason = self._network_answer(auth, card, amount, controllable)
        self._history(auth, amount, approved_amount, reason)
        auth["pending_request"] = None
        if approved_amount:
            auth.update(approved=True, amount=approved_amount, merchant_amount=approved_amount)
        else:
            auth.update(approved=False, status="closed")
        self.emit("issuing_authorization.created", auth)
        return auth

    def _network_answer(
        self, auth: dict[str, Any], card: dict[str, Any], amount: int, controllable: bool
    ) -> tuple[int, str]:
        """(amount approved, why): the card's spending controls first, then a stand-in approval
        while the network is down, else Tide's own answer."""
        merchant = auth["merchant_data"]
        refused = self._controls_say(card, amount, merchant["category"], merchant["country"])
        if refused is not None:
            return 0, refused
        if self.network_down:
            return amount, "network_fallback"
        return self._ask_tide(auth, amount, controllable)

    def _ask_tide(self, auth: dict[str, Any], amount: int, controllable: bool) -> tuple[int, str]:  # noqa: PLR0911 - one return per rule
        event = self._event("issuing_authorization.request", auth)
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body, self.authorization_secret)
        started = time.monotonic()
        try:
            response = httpx.post(
                self.authorization_url,
                content=body.encode(),
                headers={"stripe-signature": header, "content-type": "application/json"},
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            self.answers.append((event["id"], None, None, time.monotonic() - started))
            return (amount if self.on_timeout == "approve" else 0), "webhook_timeout"
        except httpx.HTTPError:
            self.answers.append((event["id"], None, None, time.monotonic() - started))
            return 0, "webhook_error"
        elapsed = time.monotonic() - started
        try:
            answer = response.json()
        except ValueError:
            answer = None
        self.answers.append((event["id"], response.status_code, answer, elapsed))
        if elapsed > self.timeout:
            return (amount if self.on_timeout == "approve" else 0), "webhook_timeout"
        if (
            response.status_code != 200
            or response.headers.get("stripe-version") != API_VERSION
            or not isinstance(answer, dict)
            or not isinstance(answer.get("approved"), bool)
        ):
            return 0, "webhook_error"
        if not answer["approved"]:
            return 0, "webhook_declined"
        if "amount" in answer:
            partial = answer["amount"]
            if not controllable or not isinstance(partial, int) or not 0 < partial <= amount:
                return 0, "webhook_error"
            return partial, "webhook_approved"
        return amount, "webhook_approved"

    def _history(self, auth: dict[str, Any], requested: int, approved: int, reason: str) -> None:
        auth["request_history"].append(
            {
                "amount": approved or requested,
                "amount_details": {"atm_fee": None, "cashback_amount": None},
                "approved": bool(approved),
                "authorization_code": None,
                "created": self.now(),
                "currency": auth["currency"],
                "merchant_amount": approved or requested,
                "merchant_currency": auth["currency"],
                "network_risk_score": None,
                "reason": reason,
                "reason_message": None,
                "requested_at": self.now(),
            }
        )

    def act_on_authorization(self, authorization_id: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        auth = self.authorizations[authorization_id]
        previous = {"status": auth["status"], "amount": auth["amount"]}
        if action == "capture":
            amount = _int(params.get("capture_amount"), auth["amount"] or auth["request_history"][-1]["amount"])
            txn = self.transaction(
                {"card": auth["card"]["id"], "amount": amount, "currency": auth["currency"]},
                kind="capture",
                authorization=auth,
            )
            auth["transactions"].append(txn)
            if auth["status"] == "pending" and _bool(params.get("close_authorization", "true")):
                auth.update(status="closed", amount=0)
            elif auth["status"] == "pending":  # a multi-capture: what is left stays authorized
                auth["amount"] = max(0, auth["amount"] - amount)
        elif action == "increment":
            increase = _int(params.get("increment_amount"))
            auth["pending_request"] = {
                "amount": increase,
                "amount_details": {"atm_fee": None, "cashback_amount": None},
                "currency": auth["currency"],
                "is_amount_controllable": _bool(params.get("is_amount_controllable", "false")),
                "merchant_amount": increase,
                "merchant_currency": auth["currency"],
                "network_risk_score": None,
            }
            card = self.cards[auth["card"]["id"]]
            approved, reason = self._network_answer(
                auth, card, increase, auth["pending_request"]["is_amount_controllable"]
            )
            self._history(auth, increase, approved, reason)
            auth["pending_request"] = None
            auth["amount"] += approved
        elif action == "reverse":
            reverse = _int(params.get("reverse_amount"), auth["amount"])
            auth["amount"] = max(0, auth["amount"] - reverse)
            if auth["amount"] == 0:
                auth["status"] = "reversed"
        elif action == "expire":
            auth.update(status="expired", amount=0)
        else:
            raise LookupError(action)
        self.emit("issuing_authorization.updated", auth, previous)
        return auth

    def transaction(self, params: dict[str, Any], *, kind: str, authorization: dict[str, Any] | None) -> dict[str, Any]:
        card = self.cards[params["card"]]
        amount = _int(params.get("amount"))
        txn = copy.deepcopy(templates()["issuing.transaction"])
        source = authorization["merchant_data"] if authorization else None
        if source is None:
            merchant = params.get("merchant_data") or {}
            source = copy.deepcopy(txn["merchant_data"])
            source.update(
                category=_category(merchant),
                category_code=merchant.get("category_code", "5411"),
                name=merchant.get("name", "Tesco Stores"),
                network_id=merchant.get("network_id") or network_id_of(merchant.get("name", "Tesco Stores")),
                city="Exeter",
                country="GB",
                state=None,
                postal_code="EX1 1AA",
            )
        signed = -amount if kind == "capture" else amount
        txn.update(
            id=new_id("ipi"),
            created=self.now(),
            amount=signed,
            merchant_amount=signed,
            currency=params.get("currency", "gbp"),
            merchant_currency=params.get("currency", "gbp"),
            authorization=authorization["id"] if authorization else None,
            card=card["id"],
            cardholder=card["cardholder"]["id"],
            merchant_data=copy.deepcopy(source),
            type=kind,
            dispute=None,
            wallet=None,
            metadata={},
        )
        with self._lock:
            self.transactions[txn["id"]] = txn
        self.emit("issuing_transaction.created", txn)
        return txn

    def refund(self, transaction_id: str, params: dict[str, Any]) -> dict[str, Any]:
        original = self.transactions[transaction_id]
        authorization = self.authorizations.get(original["authorization"] or "")
        return self.transaction(
            {"card": original["card"], "amount": _int(params.get("refund_amount"), -original["amount"])},
            kind="refund",
            authorization=authorization,
        )

    def dispute(self, transaction_id: str, status: str = "submitted") -> dict[str, Any]:
        """Open a dispute on a transaction (as the Dashboard would) and tell the app."""
        txn = self.transactions[transaction_id]
        dispute = copy.deepcopy(templates()["issuing.dispute"])
        dispute.update(
            id=new_id("idp"),
            created=self.now(),
            amount=abs(txn["amount"]),
            currency=txn["currency"],
            status=status,
            transaction=transaction_id,
        )
        txn["dispute"] = dispute["id"]
        with self._lock:
            self.disputes[dispute["id"]] = dispute
        self.emit("issuing_dispute.created", dispute)
        self.emit("issuing_transaction.updated", txn, {"dispute": None})
        return dispute

    def decide_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """The network's decision on a dispute: won (the funds come back to the Issuing balance,
        ``issuing_dispute.funds_reinstated``) or lost; then ``issuing_dispute.closed``."""
        dispute = self.disputes[dispute_id]
        previous = {"status": dispute["status"]}
        dispute["status"] = "won" if won else "lost"
        if won:
            self.emit("issuing_dispute.funds_reinstated", dispute)
        self.emit("issuing_dispute.closed", dispute, previous)
        return dispute

    def rescind_dispute(self, dispute_id: str) -> dict[str, Any]:
        """Funds reinstated for a won dispute taken back from the Issuing balance (the network
        reversed its decision): ``issuing_dispute.funds_rescinded``, the dispute lost."""
        dispute = self.disputes[dispute_id]
        previous = {"status": dispute["status"]}
        dispute["status"] = "lost"
        self.emit("issuing_dispute.funds_rescinded", dispute, previous)
        self.emit("issuing_dispute.updated", dispute, previous)
        return dispute

    # Events --------------------------------------------------------------------------------

    def _event(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        return {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }

    def emit(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        event = self._event(kind, obj, previous)
        with self._lock:
            self.events.append(event)
            if self.auto_deliver:
                self._queue.put(event)  # sent in order by the delivery thread, as Stripe does: later
            else:
                self.outbox.append(event)
        return event

    def _deliver_forever(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                for attempt in range(5):
                    try:
                        if 200 <= self.send(event) < 300:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05 * (attempt + 1))
            finally:
                self._queue.task_done()

    def settle(self) -> None:
        """Wait until every event sent automatically has been delivered (or given up on)."""
        self._queue.join()

    def send(self, event: dict[str, Any]) -> int:
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body, self.webhook_secret)
        response = httpx.post(
            self.webhook_url,
            content=body.encode(),
            headers={"stripe-signature": header, "content-type": "application/json"},
            timeout=30,
        )
        self.deliveries.append(Delivery(event=event, status=response.status_code))
        return response.status_code

    def deliver(
        self,
        *,
        shuffle: bool = False,
        duplicate: bool = False,
        drop: float = 0.0,
        seed: int = 0,
        retry: int = 3,
        parallel: int = 1,
    ) -> list[dict[str, Any]]:
        """Send what waits in the outbox: in order, or shuffled, each maybe twice, some
        dropped (never sent: left for ``events.list``), ``parallel`` at a time. Returns the
        dropped events. A non-2xx answer is retried, as Stripe does."""
        with self._lock:
            pending, self.outbox = self.outbox, []
        rng = random.Random(seed)
        sends = [e for e in pending for _ in range(2 if duplicate else 1)]
        dropped = [e for e in pending if drop and rng.random() < drop]
        sends = [e for e in sends if e not in dropped]
        if shuffle:
            rng.shuffle(sends)

        def send_until_taken(event: dict[str, Any]) -> None:
            for _ in range(retry):
                if 200 <= self.send(event) < 300:
                    return

        if parallel > 1:  # several deliveries at once, as Stripe makes them
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(send_until_taken, sends))
        else:
            for event in sends:
                send_until_taken(event)
        return dropped

    def objects(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every object it has made, with its fixture type (for the shape test)."""
        for holder in self.cardholders.values():
            yield "issuing.cardholder", holder
        for card in self.cards.values():
            yield "issuing.card", card
        for auth in self.authorizations.values():
            yield "issuing.authorization", auth
        for txn in self.transactions.values():
            yield "issuing.transaction", txn
        for dispute in self.disputes.values():
            yield "issuing.dispute", dispute
        for event in self.events:
            yield str(event["data"]["object"]["object"]), event["data"]["object"]


def offline_fake_stripe() -> Iterator[FakeStripe]:
    """A started fake that keeps its events (never delivers them), with the app's Stripe
    settings pointed at it for as long as the generator runs."""
    import pytest  # noqa: PLC0415 - only the fixtures that use this need pytest here

    fake = FakeStripe(authorization_url="", webhook_url="", auto_deliver=False).start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TIDE_STRIPE_API_KEY", "sk_test_fake")
            patch.setenv("TIDE_STRIPE_API_BASE", fake.base_url)
            patch.setenv("TIDE_STRIPE_AUTHORIZATION_SECRET", fake.authorization_secret)
            patch.setenv("TIDE_STRIPE_WEBHOOK_SECRET", fake.webhook_secret)
            yield fake
    finally:
        fake.stop()
