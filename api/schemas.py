"""The JSON shapes of the API: ``XCreate`` for what comes in, ``XRead`` for what goes out.

Money is always whole pence (``…_pence``), never a decimal: a number with a fraction is
refused. Unknown fields are refused, so a typo is an error, not silently ignored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Pence = Annotated[int, Field(strict=True, ge=1, le=100_000_000, description="An amount in whole pence (£1 = 100)")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Score = Annotated[int, Field(strict=True, ge=1, le=10)]
Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]
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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "finance export script"}]})

    name: ShortText


class TokenRead(Out):
    id: int
    name: str
    created_at: datetime
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


class TeamRead(Out):
    id: int
    name: str
    locality: str
    cost_centre: str
    department: str
    default_funding_source_id: int | None


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
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)]


class PersonRead(Out):
    id: int
    email: str
    display_name: str
    active: bool


class RoleGrantCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "key_worker", "team_id": 1}]})

    role: Literal["key_worker", "team_manager", "finance", "admin", "auditor"]
    team_id: Id | None = None


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
    carried_over: bool = False


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
    allocated_by: int
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


# Families and needs -----------------------------------------------------------------------


class FamilyCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"team_id": 1, "locality": "Exeter", "age_bands": ["0-4", "5-10"]}]},
    )

    team_id: Id
    lead_worker_id: Id | None = Field(default=None, description="Default: the key worker asking")
    locality: ShortText
    age_bands: list[Literal["unborn", "0-4", "5-10", "11-15", "16-18"]] = Field(min_length=1, max_length=5)
    opened_on: date | None = None


class FamilyRead(Out):
    id: int
    reference: str
    team_id: int
    lead_worker_id: int
    locality: str
    age_bands: list[str]
    status: str
    opened_on: date
    closed_on: date | None
    closure_reason: str | None
    sustain_check_on: date | None


class FamilyClose(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "outcomes_met", "closed_on": "2026-11-20"}]}
    )

    reason: Literal["outcomes_met", "step_up_to_social_care", "step_down_to_universal", "disengaged", "moved_away"]
    closed_on: date | None = None


class FamilyWorkerCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"person_id": 6}]})

    person_id: Id


class NeedCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "HOU-COND",
                    "whose": "household",
                    "identified_on": "2026-11-02",
                    "evidence_source": "housing",
                    "baseline_score": 3,
                }
            ]
        },
    )

    code: Annotated[str, StringConstraints(min_length=2, max_length=12)]
    whose: Literal["child", "parent", "household"]
    identified_on: date
    evidence_source: Literal["school", "police", "housing", "health", "self_report", "other_agency", "practitioner"]
    baseline_score: Score


class NeedRead(Out):
    id: int
    family_id: int
    code: str
    label: str
    outcome: int
    whose: str
    identified_on: date
    evidence_source: str
    baseline_score: int
    status: str


class ReviewCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "improved", "score": 7, "reviewed_on": "2026-11-20"}]},
    )

    outcome: Literal["improved", "no_change", "worse"]
    score: Score
    reviewed_on: date | None = None
    close_need: bool = False


class ReviewRead(Out):
    id: int
    need_id: int
    outcome: str
    score: int
    reviewed_on: date
    reviewed_by: int


class CaseLinkWrite(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"case_system": "Liquidlogic", "case_system_id": "EH-000123"}]}
    )

    case_system: Literal["Liquidlogic", "Mosaic", "Eclipse", "Other"]
    case_system_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class CaseLinkRead(Out):
    family_id: int
    case_system: str
    case_system_id: str


# Purchases --------------------------------------------------------------------------------


class PurchaseCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "family_id": 14,
                    "need_ids": [37],
                    "category": "CLOTH",
                    "description": "School shoes",
                    "supplier": "Clarks",
                    "amount_pence": 4250,
                    "payment_method": "card",
                    "vat_evidence": "vat_receipt",
                    "vat_rate": "20",
                    "vat_amount_pence": 708,
                }
            ]
        },
    )

    family_id: Id
    need_ids: list[Id] = Field(min_length=1, max_length=10)
    category: Annotated[str, StringConstraints(min_length=2, max_length=12)]
    description: Text
    supplier: ShortText
    amount_pence: Pence
    payment_method: Literal["card", "invoice", "reimbursement"]
    vat_evidence: Literal["vat_receipt", "no_vat_evidence", "outside_scope"] = "no_vat_evidence"
    vat_rate: Literal["20", "5", "0", "exempt"] | None = None
    vat_amount_pence: Annotated[int, Field(strict=True, ge=0, le=100_000_000)] | None = None
    funding_source_id: Id | None = None


class ReasonRead(Out):
    code: str
    effect: str
    sentence: str


class PurchaseRead(Out):
    id: int
    family_id: int | None = Field(description="Null for a card purchase not yet linked to its family")
    need_ids: list[int] | None = Field(description="Hidden (null) from finance, who see no needs detail")
    wallet_id: int
    worker_id: int
    team_id: int
    funding_source_id: int
    category: str
    description: str
    supplier: str
    amount_pence: int
    vat_rate: str | None
    vat_amount_pence: int | None
    vat_evidence: str
    payment_method: str
    status: str
    decision: str
    reason_codes: list[str]
    receipt_required: bool
    captured_pence: int
    refunded_pence: int
    created_at: datetime
    updated_at: datetime


class PurchaseDecisionRead(Out):
    """The answer to a new purchase: what happened, why, in plain words."""

    purchase: PurchaseRead
    decision: Literal["allow", "needs_approval", "deny"]
    reasons: list[ReasonRead]
    message: str
    approval_request_id: int | None = Field(default=None, description="The request sent to your manager, if any")
    allowance_id: int | None = Field(default=None, description="The manager's allowance this purchase used, if any")


class CaptureCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_pence": 4250}]})

    amount_pence: Pence


class RefundCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_pence": 1000}]})

    amount_pence: Pence


class ReceiptRead(Out):
    id: int
    purchase_id: int
    content_type: str
    size: int
    sha256: str
    duplicate_of: int | None
    uploaded_at: datetime


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
