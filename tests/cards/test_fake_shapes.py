"""Every object the fake Stripe emits has the shape of Stripe's own example of its type
(``fixtures3.json``) and only values stripe-python's own annotations allow."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import stripe

from tests.cards.conftest import Rig
from tests.cards.fake_stripe import templates

ANNOTATED: dict[str, Any] = {
    "issuing.authorization": stripe.issuing.Authorization,
    "issuing.card": stripe.issuing.Card,
    "issuing.cardholder": stripe.issuing.Cardholder,
    "issuing.transaction": stripe.issuing.Transaction,
    "issuing.dispute": stripe.issuing.Dispute,
}


def shape_errors(example: Any, emitted: Any, where: str) -> list[str]:
    """Keys missing or extra, and values of another JSON type, against Stripe's example."""
    if example is None or emitted is None or where.endswith(".metadata"):
        return []  # nullable either way; metadata is the caller's own
    if isinstance(example, dict):
        return _object_errors(example, emitted, where)
    if isinstance(example, list):
        if not isinstance(emitted, list):
            return [f"{where}: a list in Stripe's example"]
        return [e for item in emitted for e in shape_errors(example[0], item, f"{where}[]")] if example else []
    kinds = (bool,) if isinstance(example, bool) else (int,) if isinstance(example, int) else (type(example),)
    wrong = not isinstance(emitted, kinds) or (isinstance(emitted, bool) and not isinstance(example, bool))
    return [f"{where}: {type(emitted).__name__}, not {type(example).__name__}"] if wrong else []


def _object_errors(example: dict[str, Any], emitted: Any, where: str) -> list[str]:
    if not isinstance(emitted, dict):
        return [f"{where}: an object in Stripe's example, {type(emitted).__name__} here"]
    errors = [f"{where}.{key}: missing" for key in example.keys() - emitted.keys()]
    errors += [f"{where}.{key}: not in Stripe's example" for key in emitted.keys() - example.keys()]
    for key in example.keys() & emitted.keys():
        errors += shape_errors(example[key], emitted[key], f"{where}.{key}")
    return errors


def allowed_values(annotation: Any) -> set[str] | None:
    """The values an annotation's ``Literal[...]`` names (stripe-python writes its enums as
    ``Literal[...] | str``, open for new values; Tide holds the fake to the known ones)."""
    if get_origin(annotation) is Literal:
        return {str(value) for value in get_args(annotation)}
    for member in get_args(annotation):
        found = allowed_values(member)
        if found:
            return found
    return None


def enum_errors(cls: Any, obj: dict[str, Any], where: str) -> list[str]:
    errors = []
    for name, annotation in getattr(cls, "__annotations__", {}).items():
        value = obj.get(name)
        allowed = allowed_values(annotation)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if allowed and isinstance(item, str) and item not in allowed:
                errors.append(f"{where}.{name}: {item!r} is not one of {sorted(allowed)}")
    return errors


def test_the_shape_check_finds_a_missing_an_extra_and_a_wrong_field() -> None:
    example = templates()["issuing.transaction"]
    broken = {**example, "amount": "12", "extra": 1}
    del broken["card"]
    assert sorted(shape_errors(example, broken, "txn")) == [
        "txn.amount: str, not int",
        "txn.card: missing",
        "txn.extra: not in Stripe's example",
    ]
    assert enum_errors(stripe.issuing.Transaction, {"type": "payment"}, "txn") == [
        "txn.type: 'payment' is not one of ['capture', 'refund']"
    ]


async def test_every_object_the_fake_emits_has_stripes_shape(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=20_000)
    auth = rig.pay(card, 2_000)
    txn = rig.capture(auth["id"], 2_400)["transactions"][-1]
    rig.refund(txn["id"], 400)
    reversed_ = rig.pay(card, 1_000)
    rig.act(reversed_["id"], "reverse")
    rig.act(rig.pay(card, 300)["id"], "expire")
    rig.act(rig.pay(card, 500)["id"], "increment", increment_amount=100)
    rig.force_capture(card, 250)
    unlinked = rig.unlinked_refund(card, 120, name="Clarks")
    rig.pay(card, 500, category="betting_casino_gambling", category_code="7995")
    dispute = rig.fake.dispute(txn["id"])
    rig.fake.decide_dispute(dispute["id"], won=True)
    several = rig.pay(card, 3_000, category="hotels_motels_and_resorts", category_code="7011", name="Travelodge")
    rig.act(several["id"], "capture", capture_amount=1_000, close_authorization=False)
    rig.act(several["id"], "capture", capture_amount=1_500)
    rig.fake.settle()
    assert (unlinked["authorization"], unlinked["type"], unlinked["amount"]) == (None, "refund", 120)
    captured = rig.fake.authorizations[several["id"]]
    assert [t["amount"] for t in captured["transactions"]] == [-1_000, -1_500]
    assert {t["authorization"] for t in captured["transactions"]} == {several["id"]}
    assert (captured["status"], captured["amount"]) == ("closed", 0)
    errors: list[str] = []
    kinds: set[str] = set()
    for kind, obj in rig.fake.objects():
        kinds.add(kind)
        errors += shape_errors(templates()[kind], obj, f"{kind} {obj['id']}")
        errors += enum_errors(ANNOTATED[kind], obj, f"{kind} {obj['id']}")
        if kind == "issuing.authorization":
            history = stripe.issuing.Authorization.RequestHistory
            for item in obj["request_history"]:
                errors += enum_errors(history, item, f"{obj['id']}.request_history[]")
    assert kinds == set(ANNOTATED)
    assert errors == []
    assert worker.wallet_id is not None
