"""One error class per broken reports rule. ``api`` maps each to an HTTP problem in one table."""

from __future__ import annotations


class ReportsError(Exception):
    """Base of every reports error."""

    code = "reports_error"


class UnknownReport(ReportsError):
    """A report is asked for by a name Tide does not publish."""

    code = "unknown_report"


class InvalidMonth(ReportsError):
    """A month is not written ``YYYY-MM``, or is not a real month."""

    code = "invalid_month"


class UnexplainedExceptions(ReportsError):
    """A month closes only when its reconciliation is clean or every exception is explained."""

    code = "unexplained_exceptions"

    def __init__(self, message: str, *, keys: list[str]) -> None:
        super().__init__(message)
        self.keys = keys


class MonthNotOver(ReportsError):
    """A month closes only once it has ended."""

    code = "month_not_over"


class MonthClosed(ReportsError):
    """A closed month is read-only: nothing about it is explained or changed any more."""

    code = "month_closed"


class NoSuchException(ReportsError):
    """An explanation names an exception the month's reconciliation does not have."""

    code = "no_such_exception"


class InvalidYear(ReportsError):
    """A financial year is written as the year it starts in (2025 for April 2025 to March 2026)."""

    code = "invalid_year"


class BadAccountCode(ReportsError):
    """A GL account code or cost centre is 1 to 40 letters, digits, spaces, dots, dashes,
    underscores or slashes, starting with a letter or digit (what a finance system imports)."""

    code = "bad_account_code"

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(message)
        #: Which setting: ``payment_accounts.card``, ``team_cost_centres.3``, ...
        self.where = where


class BadJournalLayout(ReportsError):
    """A custom journal layout names each of Tide's journal fields at most once, gives each a
    heading, and carries the account and the money (debit and credit, or amount and posting key)."""

    code = "bad_journal_layout"
