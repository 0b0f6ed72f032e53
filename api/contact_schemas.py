"""The JSON shapes of people's and teams' contact details: a person's work mobile (Stripe texts
card codes to it) and a team's office address (where physical cards are posted)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from api.schemas import In, Out, Postcode, ShortText, Text


class WorkMobileWrite(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"work_mobile": "07700 900123"}]})

    work_mobile: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = Field(
        description="a UK mobile (+447… or 07…), kept in E.164; needed for a Tide card"
    )


class WorkMobileRead(Out):
    id: int
    work_mobile: str | None


class OfficeAddressWrite(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"line1": "Exeter Family Hub", "line2": None, "city": "Exeter", "postal_code": "EX1 1AA"}]
        },
    )

    line1: Text = Field(description="the team's office, where its key workers' physical cards are posted")
    line2: Text | None = None
    city: ShortText
    postal_code: Postcode
