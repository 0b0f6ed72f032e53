"""Finance's GL settings on a page (one use case with the JSON API: ``reports.finance_settings``).

One form, JavaScript not needed: the layout and the presets' fixed values; for a custom layout
each journal field's place (blank: left out) and heading, and up to three columns of fixed
text; each team's GL cost centre; each category's account and VAT treatment; the payment
types' and control accounts. A blank code means "as the environment
says", shown as the hint.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from api.deps import DbDep, NowDep
from api.hosts import CouncilDep
from api.web.forms import AlreadySent, Form, already_sent, ascii_digits, once, read_form
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from reports import finance_settings
from reports.errors import BadAccountCode, ReportsError
from reports.journal import FIELDS
from reports.vat import CATEGORY_TREATMENTS
from wallet.errors import WalletError
from wallet.taxonomy import CATEGORIES, PAYMENT_METHODS

LAYOUT_LABELS = {
    "generic": ("Generic CSV", "One row a line: journal, period, date, cost centre, account, debit, credit"),
    "oracle": ("Oracle GL_INTERFACE", "STATUS, LEDGER_ID, SEGMENT1 to SEGMENT4, ENTERED_DR, ENTERED_CR"),
    "sap": ("SAP G/L document", "BUKRS, BLDAT, BUDAT, BLART, NEWBS (40 or 50), HKONT, KOSTL, WRBTR"),
    "custom": ("Your own columns", "Choose, name and order the columns below"),
}
AP_LAYOUT_LABELS = {
    "generic": "Generic payments CSV",
    "oracle": "Oracle Payables invoice import",
    "sap": "SAP vendor invoice (LIFNR, BLART KR)",
}
FIELD_LABELS = {
    "journal": "Journal name", "period": "Period", "accounting_date": "Accounting date", "cost_centre": "Cost centre",
    "account": "Account code", "expense_group": "Expense group", "funding_source": "Funding source",
    "vat_treatment": "VAT treatment", "debit": "Debit", "credit": "Credit", "amount": "Amount (unsigned)",
    "posting_key": "Posting key (40 debit, 50 credit)", "currency": "Currency", "description": "Description",
}  # fmt: skip
TREATMENT_LABELS = {
    "": "As each purchase records",
    "standard": "Standard rated (20%)",
    "reduced": "Reduced rate (5%)",
    "zero": "Zero rated",
    "exempt": "Exempt",
    "outside_scope": "Outside the scope of VAT",
}
PAYMENT_LABELS = {
    "card": "Card spend (card control account)",
    "invoice": "Invoices (supplier creditor account)",
    "reimbursement": "Reimbursements (payroll or expenses account)",
}
PRESET_LABELS = {
    "ledger_id": "Oracle LEDGER_ID",
    "entity": "Oracle entity (SEGMENT1)",
    "company_code": "SAP company code (BUKRS)",
    "document_type": "SAP document type (BLART)",
    "currency": "Currency (ISO code, like GBP)",
}
#: How many columns of fixed text a custom layout may hold on the page.
FIXED_COLUMNS = 3
CONTROL_LABELS = {
    "vat_recoverable": "Recoverable VAT account",
    "corporate_cost_centre": "Cost centre of the control lines",
}


def _values(saved: finance_settings.FinanceSettings) -> dict[str, str]:
    """The form's fields as the saved settings fill them."""
    values = {"layout": saved.layout, "ap_layout": saved.ap_layout}
    fixed = 0
    for place, column in enumerate(saved.columns, 1):
        if not column.field:
            fixed += 1
            values |= {f"fixed-{fixed}-place": str(place), f"fixed-{fixed}-value": column.value}
            values[f"fixed-{fixed}-header"] = column.header
            continue
        values[f"column-{column.field}-place"] = str(place)
        values[f"column-{column.field}-header"] = column.header
    values |= {f"preset-{name}": value for name, value in saved.preset_values.items()}
    values |= {f"team-{team}": code for team, code in saved.team_cost_centres.items()}
    values |= {f"category-{code}-account": account for code, account in saved.category_accounts.items()}
    for code, vat in saved.category_vat.items():
        values[f"category-{code}-vat"] = vat.treatment
        values[f"category-{code}-irrecoverable"] = "" if vat.recoverable else "yes"
    values |= {f"payment-{method}": account for method, account in saved.payment_accounts.items()}
    values |= {f"control-{name}": account for name, account in saved.control_accounts.items()}
    return values


def _document(form: Form, team_ids: list[int]) -> dict[str, Any]:
    """The settings the form asks for (the use case checks every code)."""
    placed = []
    for name in FIELDS:
        place = form.get(f"column-{name}-place")
        if place and not ascii_digits(place):
            form.error(f"column-{name}-place", f"Write the place of {FIELD_LABELS[name]} as a number, like 3")
        elif place:
            placed.append(
                (int(place), {"field": name, "header": form.get(f"column-{name}-header") or FIELD_LABELS[name]})
            )
    for n in range(1, FIXED_COLUMNS + 1):
        place, value = form.get(f"fixed-{n}-place"), form.get(f"fixed-{n}-value")
        if (place or value) and not ascii_digits(place or ""):
            form.error(f"fixed-{n}-place", "Write the place of this fixed value as a number, like 3")
        elif place:
            placed.append((int(place), {"value": value, "header": form.get(f"fixed-{n}-header") or f"Fixed {n}"}))
    vat = {}
    for code in CATEGORIES:
        treatment = form.get(f"category-{code}-vat")
        if treatment:
            vat[code] = {"treatment": treatment, "recoverable": not form.get(f"category-{code}-irrecoverable")}
    return {
        "layout": form.get("layout") or "generic",
        "columns": [column for _, column in sorted(placed, key=lambda placed: placed[0])],
        "team_cost_centres": {str(team): form.get(f"team-{team}") for team in team_ids},
        "category_accounts": {code: form.get(f"category-{code}-account") for code in CATEGORIES},
        "payment_accounts": {method: form.get(f"payment-{method}") for method in PAYMENT_METHODS},
        "control_accounts": {name: form.get(f"control-{name}") for name in CONTROL_LABELS},
        "category_vat": vat,
        "preset_values": {name: form.get(f"preset-{name}") for name in PRESET_LABELS},
        "ap_layout": form.get("ap_layout"),
    }


def _field_of(exc: Exception) -> str:
    """The form field a refusal is about."""
    if isinstance(exc, BadAccountCode) and "." in exc.where:
        section, key = exc.where.split(".", 1)
        prefix = {
            "team_cost_centres": "team",
            "payment_accounts": "payment",
            "control_accounts": "control",
            "preset_values": "preset",
        }
        return f"category-{key}-account" if section == "category_accounts" else f"{prefix[section]}-{key}"
    return "layout"


def _ap_layouts(default: str) -> list[tuple[str, str, None]]:
    """The accounts payable import's choices: the deployment's, or one of the presets."""
    return [("", f"As the deployment says ({AP_LAYOUT_LABELS[default]})", None)] + [
        (name, AP_LAYOUT_LABELS[name], None) for name in finance_settings.AP_LAYOUTS
    ]


async def _page(
    db: DbDep, user: WebUser, council: CouncilDep, form: Form | None, status: int = 200, done: bool = False
) -> Response[str]:
    found = await finance_settings.finance_settings(db, who=user.who)
    teams = await finance_settings.teams_for_settings(db, who=user.who)
    chart = council.report_options.chart
    return page(
        "finance_settings.html.j2", user=user, status_code=status, current="/finance", back="/finance",
        title="Finance settings", found=found, teams=teams, chart=chart, done=done,
        can_change=user.who.has(*finance_settings.WRITERS),
        layouts=[(name, label, hint) for name, (label, hint) in LAYOUT_LABELS.items()],
        fields=list(FIELD_LABELS.items()), categories=list(CATEGORIES.values()),
        treatments=[(t, TREATMENT_LABELS[t]) for t in ("", *CATEGORY_TREATMENTS)],
        payments=list(PAYMENT_LABELS.items()), controls=list(CONTROL_LABELS.items()),
        presets=list(PRESET_LABELS.items()), preset_defaults=finance_settings.PRESET_VALUES,
        fixed=range(1, FIXED_COLUMNS + 1), ap_layouts=_ap_layouts(council.settings.payments_ap_layout),
        values=form.values if form else _values(found.settings), errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )  # fmt: skip


@get("/finance/settings")
async def finance_settings_page(
    db: DbDep, user: UserDep, council: CouncilDep, done: FromQuery[str | None] = None
) -> Response[str]:
    return await _page(db, user, council, None, done=done is not None)


@post("/finance/settings")
async def finance_settings_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, council: CouncilDep
) -> Response[Any]:
    form = await read_form(request)
    teams = await finance_settings.teams_for_settings(db, who=user.who)
    document = _document(form, [team.id for team in teams])

    async def act() -> str:
        await finance_settings.change_finance_settings(db, who=user.who, document=document, now=now)
        return "/finance/settings?done=1"

    if form.ok:
        try:
            result = await once(request, db, user=user, now=now, act=act)
        except (ReportsError, WalletError) as exc:
            form.refused(_field_of(exc), exc)
        else:
            return already_sent(user, result) if isinstance(result, AlreadySent) else result
    return await _page(db, user, council, form, status=form.status)


HANDLERS = [finance_settings_page, finance_settings_submit]
