"""The JSON shapes of the API: ``XCreate`` for what comes in, ``XRead`` for what goes out.

Money is always whole pence (``…_pence``), never a decimal: a number with a fraction is
refused. Unknown fields are refused, so a typo is an error, not silently ignored.

Every number and yes/no that comes in is one of the strict types below (``Pence``, ``Id``,
``Score``, ``WHOLE_NUMBER``, ``Flag``, ``Day``), and nothing is coerced: ``"150"``, ``150.0`` and
``true`` are not 150 pence or id 1. (Pydantic's own ``strict=True`` is not enough: Litestar
validates request bodies with ``strict=False``, which overrides it; a before-validator runs
whatever the mode.) ``tests/api/test_strict_types.py`` holds every request schema to this.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints


def _whole_number(value: object) -> object:
    """A JSON integer and nothing else: not text, not a decimal, not true/false (a ``bool`` is an ``int`` in Python)."""
    if type(value) is not int:
        raise ValueError("must be a whole number, not text, a decimal or true/false")
    return value


def _yes_or_no(value: object) -> object:
    if type(value) is not bool:
        raise ValueError("must be true or false, not text or a number")
    return value


def _iso_day(value: object) -> object:
    if not isinstance(value, (str, date)) or isinstance(value, datetime):
        raise ValueError("must be a date written YYYY-MM-DD")  # noqa: TRY004 - as above
    return value


#: The one check behind every whole number that comes in: ``Annotated[int, Field(strict=True,
#: …), WHOLE_NUMBER]`` (after the ``Field``, so the OpenAPI still says minimum and maximum).
WHOLE_NUMBER = BeforeValidator(_whole_number)

Pence = Annotated[
    int, Field(strict=True, ge=1, le=100_000_000, description="An amount in whole pence (£1 = 100)"), WHOLE_NUMBER
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Score = Annotated[int, Field(strict=True, ge=1, le=10), WHOLE_NUMBER]
Id = Annotated[int, Field(strict=True, ge=1, le=2**53), WHOLE_NUMBER]
#: A yes/no that comes in: JSON ``true`` or ``false`` only.
Flag = Annotated[bool, Field(strict=True), BeforeValidator(_yes_or_no)]
#: A calendar day that comes in: ``YYYY-MM-DD`` text only (never a number of seconds).
Day = Annotated[date, BeforeValidator(_iso_day)]
Postcode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$")
]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Signing in -------------------------------------------------------------------------------


class SignInCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "kw.exeter.01@demo.tide.invalid", "password": "tide-demo-password"}]},
    )

    email: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MeRead(Out):
    id: int
    display_name: str
    roles: list[str]
    worker_team_ids: list[int]
    managed_team_ids: list[int]
    wallet_id: int | None


class SignedInRead(Out):
    person: MeRead
    csrf_token: str = Field(description="Send as X-CSRF-Token on every change made with the session cookie")
    expires_at: datetime


class TokenCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "finance export script", "expires_in_days": 30, "scope": "read"}]},
    )

    name: ShortText
    expires_in_days: Annotated[int, Field(strict=True, ge=1, le=366), WHOLE_NUMBER] = Field(
        default=90, description="Days until the token stops working (1 to 366; default 90)"
    )
    scope: Literal["read", "read_write"] = Field(
        default="read_write", description="read: may only read (GET); read_write: may also change things"
    )


class TokenRead(Out):
    id: int
    name: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedRead(TokenRead):
    token: str = Field(description="The secret, shown once: send it as 'Authorization: Bearer <token>'")


# Organisation -----------------------------------------------------------------------------


class TeamCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Exeter Early Help",
                    "locality": "Exeter",
                    "cost_centre": "EH-EXETER",
                    "department": "Children's Services - Early Help",
                    "default_funding_source_id": 1,
                }
            ]
        },
    )

    name: ShortText
    locality: ShortText
    cost_centre: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    department: ShortText
    default_funding_source_id: Id | None = None
    office_line1: Text | None = Field(default=None, description="the team's office, where physical cards are posted")
    office_line2: Text | None = None
    office_city: ShortText | None = None
    office_postal_code: Postcode | None = None


class TeamRead(Out):
    id: int
    name: str
    locality: str
    cost_centre: str
    department: str
    default_funding_source_id: int | None
    office_line1: str | None = None
    office_line2: str | None = None
    office_city: str | None = None
    office_postal_code: str | None = None


class PersonCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "sam.worker@council.example",
                    "display_name": "Sam Worker",
                    "password": "a long passphrase here",
                }
            ]
        },
    )

    email: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    display_name: ShortText
    password: Annotated[str, StringConstraints(min_length=12, max_length=128)] = Field(
        description="12 to 128 characters, not a common password; a few words together make a good one"
    )
    work_mobile: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = Field(
        default=None, description="a UK mobile (+447… or 07…), kept in E.164; needed for a Tide card"
    )


class PersonRead(Out):
    id: int
    email: str
    display_name: str
    active: bool


class RoleGrantCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "key_worker", "team_id": 1}]})

    role: Literal["key_worker", "team_manager", "finance", "admin", "auditor"]
    team_id: Id | None = None
    open_wallet: Flag = Field(default=False, description="A key worker's wallet on the team, opened when confirmed")


class RoleGrantRead(Out):
    id: int
    person_id: int
    role: str
    team_id: int | None


# Money in ---------------------------------------------------------------------------------


class FundingSourceCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "prevention", "name": "Children's Social Care Prevention Grant"}]},
    )

    code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    ]
    name: ShortText


class FundingSourceRead(Out):
    id: int
    code: str
    name: str


class FundingCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount_pence": 2700000, "reason": "Prevention grant, quarter 3"}]},
    )

    amount_pence: Pence
    reason: Text


class AllocationCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "funding_source_id": 1,
                    "team_id": 1,
                    "wallet_id": 3,
                    "amount_pence": 12500,
                    "month": "2026-11",
                    "reason": "Monthly wallet budget",
                }
            ]
        },
    )

    funding_source_id: Id
    team_id: Id
    wallet_id: Id | None = Field(default=None, description="Leave out to allocate to the team's budget")
    amount_pence: Pence
    month: Month | None = Field(default=None, description="YYYY-MM the budget is for; default this month")
    reason: Text
    carried_over: Flag = False


class ReturnCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"funding_source_id": 1, "reason": "Month end: no carry-over this year"}]},
    )

    funding_source_id: Id
    amount_pence: Pence | None = Field(default=None, description="Leave out to return all that is unspent")
    reason: Text


class AllocationRead(Out):
    id: int
    level: str
    team_id: int
    wallet_id: int | None
    funding_source_id: int
    month: date
    amount_pence: int
    carried_over: bool
    reason: str
    allocated_by: int | None
    created_at: datetime


class WalletRead(Out):
    id: int
    person_id: int
    team_id: int
    status: str
    available_pence: int
    held_pence: int
    spent_this_month_pence: int
    allocated_this_month_pence: int


class WalletCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"person_id": 5, "team_id": 1}]})

    person_id: Id
    team_id: Id


# Policy, audit, codes ---------------------------------------------------------------------


class PolicyRead(Out):
    version: int | None
    rules: list[dict[str, Any]]
    approvals: dict[str, Any] = Field(description="How approvals, escalation, allowances and receipt reviews run")


class PolicyWrite(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rules": [
                        {"kind": "purchase_over", "limit": 10000, "effect": "needs_approval"},
                        {"kind": "category", "categories": ["CASH"], "effect": "deny"},
                    ],
                    "note": "Tighter rules for the winter",
                }
            ]
        },
    )

    rules: list[dict[str, Any]] = Field(max_length=500)
    approvals: dict[str, Any] | None = Field(
        default=None,
        description="second_approver_above (pence), escalate_after_minutes, allowance_hours, "
        "receipt_reminder_days, receipt_deadline_days; omitted: the defaults",
    )
    note: Text


class PolicyCheckCreate(In):
    amount_pence: Pence
    category: Annotated[str, StringConstraints(min_length=2, max_length=12)]
    family_id: Id


class AuditRead(Out):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: str
    request_id: str | None
    details: dict[str, Any]


class CodeRead(Out):
    code: str
    label: str
    outcome: int | None = None
    expense_group: str | None = None


class ProposalRead(Out):
    """A change one person proposed; it takes effect when a different person confirms it."""

    id: int
    kind: Literal["grant_role", "publish_policy", "fund_pot"]
    status: Literal["pending", "confirmed", "refused"]
    details: dict[str, Any]
    note: str
    proposed_by: int
    proposed_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    outcome: str | None
