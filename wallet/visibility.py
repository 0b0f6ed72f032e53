"""Which roles see which classes of a family's data, on which channel: stated once, asked everywhere.

Row visibility (which families, purchases, requests a person may see at all) is
:mod:`wallet.access`; this is field visibility: once a row is seen, which of its fields are
shown. Field classes:

- ``need_detail``: a family's needs (codes, labels, ids, reviews, scores) and the family's
  open needs beside a request;
- ``family_reference``: which family (its reference, its id on a purchase or request, what
  was spent on it);
- ``case_link``: the link to the council's case system (names the family's real case);
- ``free_text``: what a person typed about a family: a purchase's description, a request's
  reason, questions, answers, notes and a decision's reason (it routinely carries need detail);
- ``receipts``: the receipt files.

| field class        | key worker | team manager | finance | auditor | admin |
|--------------------|------------|--------------|---------|---------|-------|
| need_detail        | yes        | yes          | no      | yes     | yes   |
| family_reference   | yes        | yes          | no      | yes     | yes   |
| case_link          | no         | no           | no      | no      | yes   |
| free_text          | yes        | yes          | no      | yes     | yes   |
| receipts           | yes        | yes          | yes     | yes     | yes   |

Finance settles, refunds and reconciles money: amount, supplier, category, VAT, team, wallet
and receipts (VAT evidence), never what a family needs, which family it was, or what a worker
wrote about them. A person with several roles sees what any of their roles sees.

Channels carry at most these classes, whoever reads them:

- ``api``: every class (as the table allows the reader; the case link only at its restricted
  endpoint);
- ``pages``: every class but the case link (no page shows it);
- ``notifications`` (the inbox): free text, to a recipient whose roles see it;
- ``email``: none (an email leaves Tide's control: it says what happened and links to Tide);
- ``csv``, ``pdf`` (finance's monthly reports): none; their need and outcome figures are
  aggregates, any count under five and any amount resting on fewer than five families
  suppressed (``reports.needs_outcomes``), so no family's need can be read from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

FieldClass = Literal["need_detail", "family_reference", "case_link", "free_text", "receipts"]
Channel = Literal["api", "pages", "notifications", "email", "csv", "pdf"]
FIELD_CLASSES: tuple[FieldClass, ...] = get_args(FieldClass)
CHANNELS: tuple[Channel, ...] = get_args(Channel)

#: The table above: which roles see each class.
SEEN_BY: dict[FieldClass, frozenset[str]] = {
    "need_detail": frozenset({"key_worker", "team_manager", "auditor", "admin"}),
    "family_reference": frozenset({"key_worker", "team_manager", "auditor", "admin"}),
    "case_link": frozenset({"admin"}),
    "free_text": frozenset({"key_worker", "team_manager", "auditor", "admin"}),
    "receipts": frozenset({"key_worker", "team_manager", "finance", "auditor", "admin"}),
}
#: Which classes each channel may carry at all.
CARRIED_BY: dict[Channel, frozenset[FieldClass]] = {
    "api": frozenset(FIELD_CLASSES),
    "pages": frozenset(FIELD_CLASSES) - {"case_link"},
    "notifications": frozenset({"free_text"}),
    "email": frozenset(),
    "csv": frozenset(),
    "pdf": frozenset(),
}


def roles_see(roles: Iterable[str], field: FieldClass, channel: Channel = "api") -> bool:
    """Whether someone holding ``roles`` is shown ``field`` on ``channel``."""
    return field in CARRIED_BY[channel] and not SEEN_BY[field].isdisjoint(roles)


@dataclass(frozen=True, slots=True)
class Shown:
    """What one reader is shown on one channel, one flag per field class (for pages and schemas)."""

    need_detail: bool
    family_reference: bool
    case_link: bool
    free_text: bool
    receipts: bool


def shown_to(roles: Iterable[str], channel: Channel = "api") -> Shown:
    held = frozenset(roles)
    return Shown(**{field: roles_see(held, field, channel) for field in FIELD_CLASSES})
