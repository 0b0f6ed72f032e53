"""The one-call answer's argument, stated once: a ``card_decide_call``.

``card_decide`` (PostgreSQL, migration 0010) decides one authorization request from two
dozen facts: the request, the card's wallet, the spend policy's answer and the hold to place.
They travel as one value of the composite type ``card_decide_call``, whose fields are
``DecideCall``'s, in the same order, with the SQL types written beside them here. From this one
definition come the call's text (``DECIDE``: each field a typed parameter, made into the
type's row), its values in order (``values``) and the JSON a queue of requests is sent as
(``as_json``), which ``card_decide_many`` reads into the type by field name. The migration
states the type as it made it; ``tests/cards/test_till_call.py`` holds the database's type
equal to this definition, so a field added here and not there (or the other way) fails there
rather than arriving as a silent NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from operator import attrgetter
from typing import Any


@dataclass(frozen=True, slots=True)
class DecideCall:
    """One request to ``card_decide``: what was asked, of which wallet, what the policy said,
    and the hold that approving it places."""

    event: str = field(metadata={"sql": "text"})
    authorization_id: str = field(metadata={"sql": "text"})
    card: str = field(metadata={"sql": "text"})
    requested: int = field(metadata={"sql": "bigint"})
    currency: str = field(metadata={"sql": "text"})
    category: str | None = field(metadata={"sql": "text"})
    merchant: str = field(metadata={"sql": "text"})
    slug: str = field(metadata={"sql": "text"})
    description: str = field(metadata={"sql": "text"})
    now: datetime = field(metadata={"sql": "timestamptz"})
    #: The policy version the decision was asked of (``None``: the default, none published).
    policy: int | None = field(metadata={"sql": "bigint"})
    worker: int = field(metadata={"sql": "bigint"})
    team: int = field(metadata={"sql": "bigint"})
    decision: str = field(metadata={"sql": "text"})
    reasons: list[str] = field(metadata={"sql": "text[]"})
    receipt: bool = field(metadata={"sql": "boolean"})
    allow_partial: bool = field(metadata={"sql": "boolean"})
    controllable: bool = field(metadata={"sql": "boolean"})
    clearing: int = field(metadata={"sql": "bigint"})
    hold_hash: str = field(metadata={"sql": "text"})
    accounting_date: date = field(metadata={"sql": "date"})
    expires: datetime = field(metadata={"sql": "timestamptz"})
    ledger: str = field(metadata={"sql": "text"})
    memo: str = field(metadata={"sql": "text"})


#: The composite type's name in the database.
TYPE = "card_decide_call"
#: (name, SQL type) of each field, in order: the type as the database must have it.
FIELDS: tuple[tuple[str, str], ...] = tuple((f.name, str(f.metadata["sql"])) for f in fields(DecideCall))
_PARAMETERS = ", ".join(f"${n}::{sql}" for n, (_, sql) in enumerate(FIELDS, start=1))
#: One request, decided in one statement.
DECIDE = f"SELECT approved, granted, reasons, replayed FROM card_decide(ROW({_PARAMETERS})::{TYPE})"
#: Several, in one statement (and one commit): ``as_json`` of their calls.
DECIDE_MANY = "SELECT n, approved, granted, reasons, replayed, handover FROM card_decide_many($1::jsonb)"

_NAMES = tuple(name for name, _ in FIELDS)
_IN_ORDER = attrgetter(*_NAMES)


def values(call: DecideCall) -> tuple[Any, ...]:
    """The call's values in the type's order: ``DECIDE``'s parameters."""
    return tuple(_IN_ORDER(call))


def as_json(calls: Iterable[DecideCall]) -> str:
    """The calls as a JSON array of objects keyed by field name (times and dates as text)."""
    return json.dumps([dict(zip(_NAMES, values(call), strict=True)) for call in calls], default=str)
