"""The leaders' page: a financial year's evidence report, the same tables as its PDF and HTML file."""

from __future__ import annotations

from litestar import Response, get
from litestar.params import FromQuery

from api.deps import NowDep, ReadDbDep
from api.hosts import CouncilDep
from api.web.render import page
from api.web.session import UserDep
from reports.annual import CANNOT_SHOW, annual_report
from reports.disclosure import MONEY_SUPPRESSED, count_mark, published
from wallet.clock import local_date
from wallet.errors import NotAllowed

LEADERS = ("team_manager", "finance", "auditor", "admin")


def _year(text: str | None, today_year: int, today_month: int) -> int:
    current = today_year if today_month >= 4 else today_year - 1
    if text and text.isdigit() and current - 10 <= int(text) <= current:
        return int(text)
    return current


@get("/evidence")
async def evidence_page(
    read_db: ReadDbDep, now: NowDep, user: UserDep, council: CouncilDep, year: FromQuery[str | None] = None
) -> Response[str]:
    if not user.who.has(*LEADERS):
        raise NotAllowed("this is for leaders: team managers, finance, the auditor and the admin")
    today = local_date(now)
    chosen = _year(year, today.year, today.month)
    report = await annual_report(read_db, year=chosen, threshold=council.settings.report_smallest_count)
    current = _year(None, today.year, today.month)
    return page(
        "evidence.html.j2",
        user=user,
        title=f"Evidence report {report.year.label}",
        current="/evidence",
        report=report,
        years=[(str(y), f"April {y} to March {y + 1}") for y in range(current, current - 6, -1)],
        chosen=str(chosen),
        cannot_show=CANNOT_SHOW,
        published=published,
        count_mark=count_mark(report.threshold),
        money_mark=MONEY_SUPPRESSED,
    )


HANDLERS = [evidence_page]
