"""Finance's settings, kept in the app: the GL journal's layout, the council's account codes and
cost centres, and VAT treatment by purchase category.

- **Layout**: a preset (``generic``, ``oracle``, ``sap``) or ``custom``: Tide's journal fields
  chosen, renamed and put in order by finance.
- **Preset values**: the fixed values the presets write (Oracle's ``LEDGER_ID`` and entity
  ``SEGMENT1``, SAP's company code ``BUKRS`` and document type ``BLART``, the currency); a
  custom layout may also hold columns of fixed text.
- **Accounts payable import**: the layout of payment runs' AP file (``generic``, ``oracle``,
  ``sap``; blank: ``TIDE_PAYMENTS_AP_LAYOUT``), the version in force when the run was started.
- **Cost centre per team**: the team's code in the GL, in place of the team's own.
- **Account codes** per purchase category (in place of its SeRCOP group's account), per
  payment type (card control, supplier creditor, payroll/expenses) and for the control
  accounts (recoverable VAT, the corporate cost centre the control lines are booked to).
- **VAT treatment** per category: ``standard``, ``reduced``, ``zero``, ``exempt`` or
  ``outside_scope``, recoverable or not (:mod:`reports.vat` applies it).

What is not set here stays as the environment says (``TIDE_GL_*``). Finance and admins change
the settings; finance, admins and auditors read them. Each change saves a new version
(:class:`wallet.finance_models.FinanceSettingsVersion`) and is audited; the journal of a month
uses the version in force at its ``as_at``, so a closed month's journal stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.operations import Db
from reports.csv_safe import FORMULA_STARTS
from reports.errors import BadAccountCode, BadJournalLayout
from reports.journal import FIELDS, ChartOfAccounts, Column, JournalFormat, oracle_gl_interface, sap_gl_posting
from reports.vat import CATEGORY_TREATMENTS, CategoryVat
from wallet import audit
from wallet.access import Principal
from wallet.errors import DuplicateRecord, UnknownCode
from wallet.finance_models import FinanceSettingsVersion
from wallet.models import Team
from wallet.taxonomy import CATEGORIES, PAYMENT_METHODS

LAYOUTS = ("generic", "oracle", "sap", "custom")
#: The accounts payable import's presets (``reports.payment_files.PRESETS``); blank: the environment's.
AP_LAYOUTS = ("generic", "oracle", "sap")
CONTROL_ACCOUNTS = ("vat_recoverable", "corporate_cost_centre")
#: The presets' fixed values finance may set, and what each is when not set.
PRESET_VALUES = {"ledger_id": "1", "entity": "01", "company_code": "1000", "document_type": "SA", "currency": "GBP"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
TREATMENTS = tuple(CATEGORY_TREATMENTS)
WRITERS = ("finance", "admin")
READERS = ("finance", "admin", "auditor")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
_MONEY = ({"debit", "credit"}, {"amount", "posting_key"})


@dataclass(frozen=True, slots=True)
class LayoutColumn:
    """A custom layout's column: one of the journal's ``FIELDS`` (or, ``field`` blank, the fixed
    text ``value``), under finance's heading."""

    field: str
    header: str
    value: str = ""

    def to_mapping(self) -> dict[str, str]:
        return (
            {"field": self.field, "header": self.header} if self.field else {"value": self.value, "header": self.header}
        )


@dataclass(frozen=True)
class FinanceSettings:
    """One version of finance's settings; empty means "as the environment says"."""

    layout: str = "generic"
    columns: tuple[LayoutColumn, ...] = ()
    team_cost_centres: Mapping[int, str] = field(default_factory=dict)
    category_accounts: Mapping[str, str] = field(default_factory=dict)
    payment_accounts: Mapping[str, str] = field(default_factory=dict)
    control_accounts: Mapping[str, str] = field(default_factory=dict)
    category_vat: Mapping[str, CategoryVat] = field(default_factory=dict)
    preset_values: Mapping[str, str] = field(default_factory=dict)
    ap_layout: str = ""

    def preset(self, name: str) -> str:
        """A preset's fixed value: finance's, else the default."""
        return self.preset_values.get(name) or PRESET_VALUES[name]

    def to_mapping(self) -> dict[str, Any]:
        """As stored (JSON: team ids as strings)."""
        return {
            "layout": self.layout,
            "columns": [c.to_mapping() for c in self.columns],
            "team_cost_centres": {str(team): code for team, code in sorted(self.team_cost_centres.items())},
            "category_accounts": dict(sorted(self.category_accounts.items())),
            "payment_accounts": dict(sorted(self.payment_accounts.items())),
            "control_accounts": dict(sorted(self.control_accounts.items())),
            "category_vat": {
                code: {"treatment": v.treatment, "recoverable": v.recoverable}
                for code, v in sorted(self.category_vat.items())
            },
            "preset_values": dict(sorted(self.preset_values.items())),
            "ap_layout": self.ap_layout,
        }

    def journal_format(self, default: JournalFormat) -> JournalFormat:
        """The layout the journal is written in (``default``, the environment's, for ``generic``)."""
        currency = self.preset_values.get("currency") or default.currency
        if self.layout == "custom":
            columns = tuple(Column(c.header, c.field or None, c.value) for c in self.columns)
            return JournalFormat(name="custom", columns=columns, currency=currency)
        if self.layout == "oracle":
            return oracle_gl_interface(
                ledger_id=self.preset("ledger_id"), entity=self.preset("entity"), currency=currency
            )
        if self.layout == "sap":
            return sap_gl_posting(
                company_code=self.preset("company_code"), document_type=self.preset("document_type"), currency=currency
            )
        return replace(default, currency=currency)

    def chart(self, default: ChartOfAccounts) -> ChartOfAccounts:
        """``default`` (the environment's codes) with what finance set laid over it."""
        payment = self.payment_accounts
        control = self.control_accounts
        return replace(
            default,
            category_accounts={**default.category_accounts, **self.category_accounts},
            team_cost_centres={**default.team_cost_centres, **self.team_cost_centres},
            category_vat={**default.category_vat, **self.category_vat},
            vat_recoverable=control.get("vat_recoverable", default.vat_recoverable),
            corporate_cost_centre=control.get("corporate_cost_centre", default.corporate_cost_centre),
            card_control=payment.get("card", default.card_control),
            supplier_creditor=payment.get("invoice", default.supplier_creditor),
            reimbursements=payment.get("reimbursement", default.reimbursements),
        )


def _code(value: object, where: str, words: str) -> str:
    text = " ".join(str(value).split())
    if not _CODE.fullmatch(text):
        raise BadAccountCode(
            f"{words} is 1 to 40 letters, digits, spaces, dots, dashes, underscores or slashes", where=where
        )
    return text


def _codes(
    given: Mapping[str, object], known: tuple[str, ...] | Mapping[str, object], section: str, what: str
) -> dict[str, str]:
    """Codes by key; a blank code is "not set"; an unknown key is refused."""
    codes = {}
    for key, value in given.items():
        if key not in known:
            raise UnknownCode(f"{key!r} is not a {what}; use one of {', '.join(known)}")
        if str(value).strip():
            codes[key] = _code(value, f"{section}.{key}", f"the code for {what} {key}")
    return codes


def _columns(layout: str, given: list[Mapping[str, object]]) -> tuple[LayoutColumn, ...]:
    if layout not in LAYOUTS:
        raise UnknownCode(f"{layout!r} is not a journal layout; use one of {', '.join(LAYOUTS)}")
    if layout != "custom":
        return ()
    columns = [_column(item) for item in given]
    chosen = [c.field for c in columns if c.field]
    if len(set(chosen)) != len(chosen):
        raise BadJournalLayout("each journal field appears in at most one column")
    if len({c.header for c in columns}) != len(columns):
        raise BadJournalLayout("each column has its own heading")
    if "account" not in chosen or not any(money <= set(chosen) for money in _MONEY):
        raise BadJournalLayout("a journal needs the account, and debit and credit (or amount and posting key)")
    return tuple(columns)


def _column(item: Mapping[str, object]) -> LayoutColumn:
    """One column: a journal field, or (no field) a fixed text that can never be a formula."""
    name, header = str(item.get("field") or ""), " ".join(str(item.get("header", "")).split())
    value = ""
    if not name:
        value = " ".join(str(item.get("value") or "").split())
        if not value or len(value) > 60 or value[0] in FORMULA_STARTS or '"' in value:
            raise BadJournalLayout(
                f"the fixed value under {header or 'a column'!r} is 1 to 60 characters, starting with no "
                "formula character (= + - @) and holding no double quote"
            )
    elif name not in FIELDS:
        raise BadJournalLayout(f"{name!r} is not a journal field; use one of {', '.join(FIELDS)}")
    if not header or len(header) > 60:
        raise BadJournalLayout(f"the column for {name or 'a fixed value'} needs a heading of 1 to 60 characters")
    return LayoutColumn(name, header, value)


def _presets(given: Mapping[str, object]) -> dict[str, str]:
    values = _codes(given, tuple(PRESET_VALUES), "preset_values", "preset value")
    currency = values.get("currency", "GBP").upper()
    if not _CURRENCY.fullmatch(currency):
        raise BadAccountCode(
            "the currency is an ISO 4217 code of three letters, like GBP", where="preset_values.currency"
        )
    return values | ({"currency": currency} if "currency" in values else {})


def _vat(given: Mapping[str, Mapping[str, object]]) -> dict[str, CategoryVat]:
    treatments = {}
    for category, choice in given.items():
        if category not in CATEGORIES:
            raise UnknownCode(f"{category!r} is not a purchase category")
        treatment = str(choice.get("treatment", ""))
        if treatment not in TREATMENTS:
            raise UnknownCode(f"{treatment!r} is not a VAT treatment; use one of {', '.join(TREATMENTS)}")
        treatments[category] = CategoryVat(treatment, bool(choice.get("recoverable", True)))
    return treatments


def parse(document: Mapping[str, Any]) -> FinanceSettings:
    """Finance's settings from their stored or submitted form, every code checked."""
    layout = str(document.get("layout", "generic"))
    teams: dict[int, str] = {}
    for team, code in dict(document.get("team_cost_centres", {})).items():
        if not str(team).isdigit():
            raise UnknownCode(f"{team!r} is not a team")
        if str(code).strip():
            teams[int(team)] = _code(code, f"team_cost_centres.{team}", f"the cost centre of team {team}")
    return FinanceSettings(
        layout=layout,
        columns=_columns(layout, list(document.get("columns", []))),
        team_cost_centres=teams,
        category_accounts=_codes(
            dict(document.get("category_accounts", {})), CATEGORIES, "category_accounts", "purchase category"
        ),
        payment_accounts=_codes(
            dict(document.get("payment_accounts", {})), PAYMENT_METHODS, "payment_accounts", "payment type"
        ),
        control_accounts=_codes(
            dict(document.get("control_accounts", {})), CONTROL_ACCOUNTS, "control_accounts", "control account"
        ),
        category_vat=_vat(dict(document.get("category_vat", {}))),
        preset_values=_presets(dict(document.get("preset_values", {}))),
        ap_layout=_ap_layout(str(document.get("ap_layout") or "")),
    )


def _ap_layout(name: str) -> str:
    if name and name not in AP_LAYOUTS:
        raise UnknownCode(f"{name!r} is not an accounts payable layout; use one of {', '.join(AP_LAYOUTS)}")
    return name


@dataclass(frozen=True, slots=True)
class SettingsInForce:
    """The version in force (``0``: none saved yet, the environment's defaults) and its settings."""

    version: int
    settings: FinanceSettings
    changed_at: datetime | None = None


async def _in_force(db: Db, as_at: datetime | None) -> SettingsInForce:
    query = select(FinanceSettingsVersion).order_by(FinanceSettingsVersion.version.desc()).limit(1)
    if as_at is not None:
        query = query.where(FinanceSettingsVersion.changed_at <= as_at)
    row = (await db.execute(query)).scalar_one_or_none()
    if row is None:
        return SettingsInForce(0, FinanceSettings())
    return SettingsInForce(row.version, parse(row.settings), row.changed_at)


async def finance_settings(db: AsyncSession, *, who: Principal) -> SettingsInForce:
    """The settings in force now (finance, admin, auditor)."""
    who.require(*READERS)
    return await _in_force(db, None)


async def change_finance_settings(
    db: AsyncSession, *, who: Principal, document: Mapping[str, Any], now: datetime
) -> SettingsInForce:
    """Save a new version of the settings (finance, admin); every change is audited."""
    who.require(*WRITERS)
    settings = parse(document)
    known = set((await db.execute(select(Team.id))).scalars())
    unknown = sorted(set(settings.team_cost_centres) - known)
    if unknown:
        raise UnknownCode(f"no team {unknown[0]}")
    latest = (await db.execute(select(func.max(FinanceSettingsVersion.version)))).scalar_one_or_none() or 0
    version = FinanceSettingsVersion(
        version=latest + 1, settings=settings.to_mapping(), changed_by=who.person_id, changed_at=now
    )
    try:
        async with db.begin_nested():
            db.add(version)
            await db.flush()
    except IntegrityError as exc:  # the same version number saved by someone else a moment ago
        raise DuplicateRecord("someone saved the settings a moment ago: look at them again, then save") from exc
    await audit.record(
        db, actor=who, action="finance_settings.changed", subject_type="finance_settings", subject_id=version.version,
        now=now, details={"layout": settings.layout, "version": version.version},
    )  # fmt: skip
    return SettingsInForce(version.version, settings, now)


@dataclass(frozen=True, slots=True)
class TeamCode:
    """A team as finance's settings page lists it: its own cost centre and the GL's, if set."""

    id: int
    name: str
    cost_centre: str


async def teams_for_settings(db: AsyncSession, *, who: Principal) -> list[TeamCode]:
    """The teams whose GL cost centre finance may set (finance, admin, auditor)."""
    who.require(*READERS)
    rows = await db.execute(select(Team.id, Team.name, Team.cost_centre).order_by(Team.name))
    return [TeamCode(int(r.id), str(r.name), str(r.cost_centre)) for r in rows]


async def ap_layout_at(db: Db, *, as_at: datetime) -> str:
    """The accounts payable import's layout finance chose at ``as_at`` ("": the environment's)."""
    return (await _in_force(db, as_at)).settings.ap_layout


async def journal_choices(
    db: Db, *, as_at: datetime, style: JournalFormat, chart: ChartOfAccounts
) -> tuple[JournalFormat, ChartOfAccounts]:
    """The journal's layout and codes at ``as_at``: finance's settings over the environment's."""
    settings = (await _in_force(db, as_at)).settings
    return settings.journal_format(style), settings.chart(chart)
