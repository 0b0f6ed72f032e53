"""Finance's settings, kept in the app: the GL journal's layout, the council's account codes and
cost centres, and VAT treatment by purchase category.

- **Layout**: a preset (``generic``, ``oracle``, ``sap``) or ``custom``: Tide's journal fields
  chosen, renamed and put in order by finance.
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
from reports.errors import BadAccountCode, BadJournalLayout
from reports.journal import FIELDS, PRESETS, ChartOfAccounts, Column, JournalFormat
from reports.vat import CATEGORY_TREATMENTS, CategoryVat
from wallet import audit
from wallet.access import Principal
from wallet.errors import DuplicateRecord, UnknownCode
from wallet.finance_models import FinanceSettingsVersion
from wallet.models import Team
from wallet.taxonomy import CATEGORIES, PAYMENT_METHODS

LAYOUTS = ("generic", "oracle", "sap", "custom")
CONTROL_ACCOUNTS = ("vat_recoverable", "corporate_cost_centre")
TREATMENTS = tuple(CATEGORY_TREATMENTS)
WRITERS = ("finance", "admin")
READERS = ("finance", "admin", "auditor")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
_MONEY = ({"debit", "credit"}, {"amount", "posting_key"})


@dataclass(frozen=True, slots=True)
class LayoutColumn:
    """A custom layout's column: one of the journal's ``FIELDS``, under finance's heading."""

    field: str
    header: str


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

    def to_mapping(self) -> dict[str, Any]:
        """As stored (JSON: team ids as strings)."""
        return {
            "layout": self.layout,
            "columns": [{"field": c.field, "header": c.header} for c in self.columns],
            "team_cost_centres": {str(team): code for team, code in sorted(self.team_cost_centres.items())},
            "category_accounts": dict(sorted(self.category_accounts.items())),
            "payment_accounts": dict(sorted(self.payment_accounts.items())),
            "control_accounts": dict(sorted(self.control_accounts.items())),
            "category_vat": {
                code: {"treatment": v.treatment, "recoverable": v.recoverable}
                for code, v in sorted(self.category_vat.items())
            },
        }

    def journal_format(self, default: JournalFormat) -> JournalFormat:
        """The layout the journal is written in (``default``, the environment's, for ``generic``)."""
        if self.layout == "custom":
            return JournalFormat(name="custom", columns=tuple(Column(c.header, c.field) for c in self.columns))
        return default if self.layout == "generic" else PRESETS[self.layout]

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
    columns = []
    for item in given:
        name, header = str(item.get("field", "")), " ".join(str(item.get("header", "")).split())
        if name not in FIELDS:
            raise BadJournalLayout(f"{name!r} is not a journal field; use one of {', '.join(FIELDS)}")
        if not header or len(header) > 60:
            raise BadJournalLayout(f"the column for {name} needs a heading of 1 to 60 characters")
        columns.append(LayoutColumn(name, header))
    chosen = [c.field for c in columns]
    if len(set(chosen)) != len(chosen):
        raise BadJournalLayout("each journal field appears in at most one column")
    if len({c.header for c in columns}) != len(columns):
        raise BadJournalLayout("each column has its own heading")
    if "account" not in chosen or not any(money <= set(chosen) for money in _MONEY):
        raise BadJournalLayout("a journal needs the account, and debit and credit (or amount and posting key)")
    return tuple(columns)


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
    )


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


async def journal_choices(
    db: Db, *, as_at: datetime, style: JournalFormat, chart: ChartOfAccounts
) -> tuple[JournalFormat, ChartOfAccounts]:
    """The journal's layout and codes at ``as_at``: finance's settings over the environment's."""
    settings = (await _in_force(db, as_at)).settings
    return settings.journal_format(style), settings.chart(chart)
