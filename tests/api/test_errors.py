"""The one table from domain errors to problems: every rule of every package has its problem."""

from __future__ import annotations

import ledger
from api.errors import PROBLEMS
from approvals.errors import ApprovalError
from cards.errors import CardError
from reports.errors import ReportsError
from wallet.errors import WalletError

#: The packages' base classes and the ledger's family of declines: never raised themselves.
BASES = {WalletError, ApprovalError, CardError, ReportsError, ledger.LedgerError, ledger.Decline}


def _rules(base: type[Exception]) -> set[type[Exception]]:
    """Every error class below ``base`` in Tide's own packages."""
    found: set[type[Exception]] = set()
    for sub in base.__subclasses__():
        if sub.__module__.split(".")[0] in {"wallet", "approvals", "cards", "reports", "ledger"}:
            found |= {sub} | _rules(sub)
    return found


def test_every_domain_rule_has_its_problem_in_the_table() -> None:
    rules = set().union(
        *(_rules(base) for base in (WalletError, ApprovalError, CardError, ReportsError, ledger.LedgerError))
    )
    assert {rule.__name__ for rule in rules - BASES - set(PROBLEMS)} == set()
