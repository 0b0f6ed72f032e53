"""Redaction of a published beneficiary, as councils label it under the Transparency Code.

- A private individual (a landlord, a sole trader trading under their own name) is
  ``REDACTED PERSONAL DATA``: a name with a title (``Mr J Smith``), initials and a surname
  (``J SMITH``, ``Smith J``), or a payee the council lists as a person.
- A merchant whose name reveals a vulnerability service (a refuge, a drug or alcohol
  service, a sexual or mental health clinic, a food bank, a homelessness charity) is
  ``REDACTED OTHER``: publishing it would tell a family's story.
The vulnerability check wins when both apply. Councils add their own names to either list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

PERSONAL = "REDACTED PERSONAL DATA"
OTHER = "REDACTED OTHER"

#: Words (whole words, any case) in a merchant name that reveal a vulnerability service.
VULNERABILITY_WORDS: tuple[str, ...] = (
    "refuge",
    "refuges",
    "women's aid",
    "womens aid",
    "domestic abuse",
    "domestic violence",
    "rape crisis",
    "sexual assault",
    "sexual health",
    "gum clinic",
    "drug",
    "drugs",
    "alcohol service",
    "alcohol services",
    "alcoholics anonymous",
    "narcotics anonymous",
    "addiction",
    "rehab",
    "rehabilitation",
    "detox",
    "substance misuse",
    "we are with you",
    "turning point",
    "mental health",
    "psychiatric",
    "samaritans",
    "food bank",
    "foodbank",
    "homeless",
    "homelessness",
    "night shelter",
    "safe house",
    "splitz",
    "gamblers anonymous",
    "probation",
    "youth offending",
)
_TITLES = r"(?:mr|mrs|ms|miss|mx|dr|master|rev)"
_BUSINESS = re.compile(
    r"\b(?:ltd|limited|plc|llp|cic|co|company|inc|uk|group|stores?|shop|services?|trust|council|"
    r"centre|center|school|college|club|society|association|charity|foundation|hotel|garage|"
    r"motors|taxis?|travel|cars|the|and|&|of|online|direct|www|com)\b",
    re.IGNORECASE,
)
_WITH_TITLE = re.compile(rf"^\s*{_TITLES}\.?\s+[a-z][a-z.'\- ]*$", re.IGNORECASE)
_INITIALS_SURNAME = re.compile(r"^\s*(?:[a-z](?:\.\s*|\s+)){1,3}[a-z][a-z'\-]{1,}\s*$", re.IGNORECASE)
_SURNAME_INITIALS = re.compile(r"^\s*[a-z][a-z'\-]{1,}\s*,?\s+(?:[a-z](?:\.\s*|\s+|$)){1,3}$", re.IGNORECASE)


@dataclass(frozen=True)
class Redaction:
    """The rules: Tide's defaults plus the council's own lists (compared without case)."""

    personal_payees: frozenset[str] = field(default_factory=frozenset)
    sensitive_merchants: frozenset[str] = field(default_factory=frozenset)
    vulnerability_words: tuple[str, ...] = VULNERABILITY_WORDS

    def beneficiary(self, merchant: str) -> str:
        """What the published file names ``merchant`` as."""
        return _beneficiary(self, merchant)


def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=8)
def _compiled(words: tuple[str, ...]) -> re.Pattern[str]:
    return _words_pattern(words)


def reveals_vulnerability(merchant: str, rules: Redaction) -> bool:
    name = " ".join(merchant.split()).lower()
    return name in rules.sensitive_merchants or bool(_compiled(rules.vulnerability_words).search(name))


def looks_like_a_person(merchant: str, rules: Redaction) -> bool:
    name = " ".join(merchant.split())
    if name.lower() in rules.personal_payees:
        return True
    if _BUSINESS.search(name):
        return False
    return bool(_WITH_TITLE.match(name) or _INITIALS_SURNAME.match(name) or _SURNAME_INITIALS.match(name))


@lru_cache(maxsize=65_536)
def _beneficiary(rules: Redaction, merchant: str) -> str:
    if reveals_vulnerability(merchant, rules):
        return OTHER
    if looks_like_a_person(merchant, rules):
        return PERSONAL
    return " ".join(merchant.split())


def rules_from_lists(
    *, personal_payees: list[str] | None = None, sensitive_merchants: list[str] | None = None
) -> Redaction:
    """The default rules plus a council's own names (case and spacing do not matter)."""
    return Redaction(
        personal_payees=frozenset(" ".join(n.split()).lower() for n in personal_payees or []),
        sensitive_merchants=frozenset(" ".join(n.split()).lower() for n in sensitive_merchants or []),
    )
