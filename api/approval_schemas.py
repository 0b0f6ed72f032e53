"""The JSON shapes of approvals, allowances, cover, receipt reviews and notifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from api.schemas import Day, Id, In, Out, Pence, Text

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]


class ApprovalCreate(In):
    """A key worker asks ahead: "I will need £180 for a cooker for family F, need HOU-COND"."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "family_id": 1,
                    "need_ids": [1],
                    "category": "WHITEGOODS",
                    "amount_pence": 18000,
                    "reason": "The family's cooker is broken; a replacement from the local shop",
                }
            ]
        },
    )

    family_id: Id
    need_ids: list[Id] = Field(min_length=1, max_length=20)
    category: Category
    amount_pence: Pence
    reason: LongText


class DecisionCreate(In):
    """Approve (perhaps for less) or decline with a reason."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"verdict": "approve", "ceiling_pence": 15000, "reason": "Up to £150: the cheaper model"},
                {"verdict": "decline", "reason": "Ask the furniture scheme first"},
            ]
        },
    )

    verdict: Literal["approve", "decline"]
    ceiling_pence: Pence | None = Field(default=None, description="Approve for less than asked; never more")
    reason: LongText | None = Field(default=None, description="Required when declining")


class MessageCreate(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"body": "Is the old cooker beyond repair?"}]}
    )

    body: LongText


class MessageRead(Out):
    id: int
    author_id: int
    kind: str
    body: str
    created_at: datetime


class ApprovalContextRead(Out):
    """What a manager needs to decide: the wallet's balance and what the family already has."""

    wallet_available_pence: int
    family_reference: str | None
    family_spent_pence: int | None = Field(description="Held or paid for this family so far")
    family_open_needs: list[str] | None = Field(description="Open need codes (hidden from finance)")


class ApprovalRead(Out):
    id: int
    status: str
    origin: str
    requester_id: int
    requester_name: str
    wallet_id: int
    team_id: int
    family_id: int | None = Field(description="Hidden (null) from finance (wallet.visibility)")
    need_ids: list[int] | None = Field(description="Hidden (null) from finance, who see no needs detail")
    category: str
    amount_pence: int
    reason: str | None = Field(description="Free text: hidden (null) from finance (wallet.visibility)")
    purchase_id: int | None
    needs_second: bool
    first_approver_id: int | None
    first_ceiling_pence: int | None
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    approved_ceiling_pence: int | None
    allowance_id: int | None
    allowance_expires_at: datetime | None
    allowance_used: bool
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    messages: list[MessageRead] = Field(description="Free text: empty for finance (wallet.visibility)")
    context: ApprovalContextRead | None


class AllowanceRead(Out):
    id: int
    worker_id: int
    wallet_id: int
    family_id: int | None = Field(description="Hidden (null) from finance (wallet.visibility)")
    need_ids: list[int] | None = Field(description="Hidden (null) from finance, who see no needs detail")
    category: str
    ceiling_pence: int
    expires_at: datetime
    consumed_at: datetime | None
    consumed_purchase_id: int | None


class FallbackWrite(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"person_id": 3}]})

    person_id: Id


class FallbackRead(Out):
    team_id: int
    fallback_approver_id: int
    updated_at: datetime


class DeputyCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"deputy_id": 4, "starts_on": "2026-12-21", "ends_on": "2027-01-02"}]},
    )

    deputy_id: Id
    starts_on: Day
    ends_on: Day


class DeputyRead(Out):
    id: int
    manager_id: int
    deputy_id: int
    starts_on: date
    ends_on: date
    created_at: datetime


class ReviewRead(Out):
    id: int
    purchase_id: int
    reason: str
    worker_id: int
    wallet_id: int
    team_id: int
    status: str
    opened_at: datetime
    due_at: datetime
    reminders_sent: int
    suspended_wallet_at: datetime | None
    closed_at: datetime | None
    closed_by: int | None
    note: str | None = Field(description="Free text: hidden (null) from finance (wallet.visibility)")


class ClearCreate(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "Receipt seen on paper; copy filed"}]}
    )

    note: Text


class NotificationRead(Out):
    id: int
    kind: str
    subject: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None
    sent_at: datetime | None
