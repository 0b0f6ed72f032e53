"""The finance pack in words: internal keys, need codes and suppression marks as people read them."""

from __future__ import annotations

from reports.needs_outcomes import SUPPRESSED
from wallet.taxonomy import NEEDS, OUTCOMES

#: What a suppressed figure says in the pack: in a money column, an amount resting on 1 to 4
#: families; in a count column, a count of 1 to 4.
SUPPRESSED_AMOUNT = "suppressed"
SUPPRESSED_COUNT = "fewer than 5"


def in_words(key: str) -> str:
    """An internal key as a person reads it: ``unmatched_capture`` → "Unmatched capture"."""
    return key.replace("_", " ").replace("-", " ").capitalize()


def group_in_words(group: str) -> str:
    """A needs report's group without its code: "EDU-ATT Poor or persistent school absence" →
    the need's name; "1 Getting a good education" → the outcome's name."""
    code, _, rest = group.partition(" ")
    if code in NEEDS or (code.isdigit() and int(code) in OUTCOMES):
        return rest
    return group


def published(header: str, cell: str) -> str:
    """A needs report cell as the pack prints it: suppression said in words, not "<5" (a
    money column's header ends in "£")."""
    if cell != SUPPRESSED:
        return cell
    return SUPPRESSED_AMOUNT if header.endswith("£") else SUPPRESSED_COUNT
