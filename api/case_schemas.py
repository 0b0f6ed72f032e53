"""The JSON shapes of a family's case: families, needs, reviews, the restricted case link, and
the purchases made for them (``XCreate`` in, ``XRead`` out; money in whole pence)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from api.schemas import WHOLE_NUMBER, Day, Flag, Id, In, Out, Pence, Score, ShortText, Text

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
    opened_on: Day | None = None


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
    closed_on: Day | None = None


class SixMonthCheckCreate(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"result": "sustained", "checked_on": "2027-05-20", "note": "School attendance held up"}]
        },
    )

    result: Literal["sustained", "not_sustained", "could_not_contact"]
    checked_on: Day | None = Field(default=None, description="Default: today")
    note: Text | None = Field(default=None, description="Refused if it looks like it holds personal data")


class SixMonthCheckRead(Out):
    family_id: int
    closed_on: date
    due_on: date
    result: str | None
    checked_on: date | None
    note: str | None
    recorded_by: int | None


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
    identified_on: Day
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
    reviewed_on: Day | None = None
    close_need: Flag = False


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
    vat_amount_pence: Annotated[int, Field(strict=True, ge=0, le=100_000_000), WHOLE_NUMBER] | None = None
    funding_source_id: Id | None = None


class ReasonRead(Out):
    code: str
    effect: str
    sentence: str


class PurchaseRead(Out):
    id: int
    family_id: int | None = Field(
        description="Null for a card purchase not yet linked to its family, and for finance (wallet.visibility)"
    )
    need_ids: list[int] | None = Field(description="Hidden (null) from finance, who see no needs detail")
    wallet_id: int
    worker_id: int
    team_id: int
    funding_source_id: int
    category: str
    description: str | None = Field(description="Free text: hidden (null) from finance (wallet.visibility)")
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


# Subject access requests ------------------------------------------------------------------


class SubjectAccessAsk(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reference": "F7K2M9QX"}]})

    reference: str = Field(min_length=1, max_length=16, description="The family's reference (kept out of the URL)")
