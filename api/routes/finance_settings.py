"""Finance's settings for the GL journal (read by finance, admins and auditors; changed by
finance and admins): one use case with the page, ``reports.finance_settings``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, get, put
from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from api.deps import DbDep, NowDep, WhoDep
from api.routes.common import body, problems
from api.schemas import Flag, In, Out
from reports import finance_settings
from reports.finance_settings import SettingsInForce

JournalField = Literal[
    "journal", "period", "accounting_date", "cost_centre", "account", "expense_group", "funding_source",
    "vat_treatment", "debit", "credit", "amount", "posting_key", "currency", "description",
]  # fmt: skip
PresetValue = Literal["ledger_id", "entity", "company_code", "document_type", "currency"]
Treatment = Literal["standard", "reduced", "zero", "exempt", "outside_scope"]
#: An account code or cost centre as typed (blank: not set); what a code may hold is checked once,
#: in ``reports.finance_settings``, and a bad one is a 422 ``bad-account-code`` problem.
Code = Annotated[str, StringConstraints(max_length=60)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class JournalColumnWrite(In):
    """A column of a custom layout: a journal ``field``, or a fixed text ``value`` (not both)."""

    field: JournalField | None = None
    value: Annotated[str, StringConstraints(max_length=60)] | None = None
    header: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]

    @model_validator(mode="after")
    def _field_or_value(self) -> JournalColumnWrite:
        if (self.field is None) == (self.value is None):
            raise ValueError("a column has a field or a fixed value, not both")
        return self


class CategoryVatWrite(In):
    treatment: Treatment
    recoverable: Flag = True


class FinanceSettingsWrite(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "layout": "oracle",
                    "category_accounts": {"HH-ESS": "5100"},
                    "payment_accounts": {"card": "9100", "invoice": "9200", "reimbursement": "9300"},
                    "control_accounts": {"vat_recoverable": "9400", "corporate_cost_centre": "C000"},
                    "category_vat": {"FOOD-VCH": {"treatment": "outside_scope", "recoverable": False}},
                    "preset_values": {"ledger_id": "2021", "entity": "DCC"},
                }
            ]
        },
    )

    layout: Literal["generic", "oracle", "sap", "custom"] = "generic"
    columns: Annotated[list[JournalColumnWrite], Field(max_length=14)] = []
    team_cost_centres: Annotated[dict[Key, Code], Field(max_length=500)] = {}
    category_accounts: Annotated[dict[Key, Code], Field(max_length=50)] = {}
    payment_accounts: dict[Literal["card", "invoice", "reimbursement"], Code] = {}
    control_accounts: dict[Literal["vat_recoverable", "corporate_cost_centre"], Code] = {}
    category_vat: Annotated[dict[Key, CategoryVatWrite], Field(max_length=50)] = {}
    preset_values: dict[PresetValue, Code] = {}
    ap_layout: Literal["", "generic", "oracle", "sap"] = ""


class JournalColumnRead(Out):
    """A column as saved: ``field`` and ``header``, or (a fixed text) ``value`` and ``header``."""

    field: str | None = None
    value: str | None = None
    header: str

    @model_serializer(mode="wrap")
    def _without_blanks(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: item for key, item in handler(self).items() if item is not None}


class CategoryVatRead(Out):
    treatment: str
    recoverable: bool


class FinanceSettingsRead(Out):
    ap_layout: str = Field(description="payment runs' AP import layout; blank: TIDE_PAYMENTS_AP_LAYOUT")
    version: int = Field(description="0 until finance saves settings: the environment's TIDE_GL_* then apply")
    changed_at: datetime | None
    layout: str
    columns: list[JournalColumnRead]
    team_cost_centres: dict[str, str]
    category_accounts: dict[str, str]
    payment_accounts: dict[str, str]
    control_accounts: dict[str, str]
    category_vat: dict[str, CategoryVatRead]
    preset_values: dict[str, str] = Field(
        description="Oracle's ledger_id and entity, SAP's company_code and document_type, the currency; unset: default"
    )


def _read(found: SettingsInForce) -> FinanceSettingsRead:
    return FinanceSettingsRead.model_validate(
        {"version": found.version, "changed_at": found.changed_at, **found.settings.to_mapping()}
    )


class FinanceSettingsController(Controller):
    path = "/api/v1/finance-settings"
    tags = ["reports"]

    @get("/", summary="Finance's GL settings in force (finance, admin, auditor)", responses=problems(403))
    async def read_settings(self, db: DbDep, who: WhoDep) -> FinanceSettingsRead:
        return _read(await finance_settings.finance_settings(db, who=who))

    @put("/", summary="Save a new version of finance's GL settings (finance, admin)", responses=problems(403, 409, 422))
    async def change_settings(
        self, db: DbDep, now: NowDep, who: WhoDep, data: Annotated[FinanceSettingsWrite, body(FinanceSettingsWrite)]
    ) -> FinanceSettingsRead:
        saved = await finance_settings.change_finance_settings(
            db, who=who, document=data.model_dump(mode="json", exclude_none=True), now=now
        )
        return _read(saved)
