"""Redaction of a published beneficiary, as councils label it under the Transparency Code.

- A private individual (a landlord, a sole trader trading under their own name) is
  ``REDACTED PERSONAL DATA``: a name with a title (``Mr J Smith``), initials and a surname
  (``J SMITH``, ``Smith J``), a full name without a title (``Sarah Jones``: a UK forename and a
  UK surname, from the gazetteer in ``uk_names.txt``, or names the council adds), or a payee
  the council lists as a person; and so is anything holding a postcode, a phone number, a
  National Insurance number, an email address or a street address.
- A merchant whose name reveals a vulnerability service (a refuge, a drug or alcohol
  service, a sexual or mental health clinic, a food bank, a homelessness charity such as
  Shelter) is ``REDACTED OTHER``: publishing it would tell a family's story.
The vulnerability check wins when both apply. Councils add their own names to either list.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

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
    "shelter",
    "crisis",
    "st mungo's",
    "st mungos",
    "centrepoint",
    "barnardo's",
    "barnardos",
    "citizens advice",
    "stepchange",
    "trussell",
    "respect phoneline",
    "solace",
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


#: A UK postcode, a UK phone number, a National Insurance number, an email address, and a
#: house number followed by a street: each is personal data wherever it appears.
_IDENTIFIERS = re.compile(
    r"\b[a-z]{1,2}[0-9][a-z0-9]?\s*[0-9][a-z]{2}\b"
    r"|(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b"
    r"|\b[a-z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[a-d]\b"
    r"|[\w.+-]+@[\w-]+\.[\w.]+"
    r"|\b\d+[a-z]?,?\s+(?:[a-z']+\s+){1,3}(?:road|rd|street|st|avenue|ave|lane|ln|close|drive|dr|way|court|ct|crescent|"
    r"place|gardens|terrace|grove|hill|park|row|square|walk|mews|view)\b",
    re.IGNORECASE,
)
#: Shops named after a person that are not one (published as they are); councils add theirs.
KNOWN_BUSINESSES: frozenset[str] = frozenset({"john lewis", "ted baker", "dorothy perkins", "tim hortons"})


def _gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """The UK forenames and surnames shipped in ``uk_names.txt`` (lower case)."""
    forenames: set[str] = set()
    surnames: set[str] = set()
    text = (Path(__file__).parent / "uk_names.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("F "):
            forenames.add(line[2:].strip().lower())
        elif line.startswith("S "):
            surnames.add(line[2:].strip().lower())
    return frozenset(forenames), frozenset(surnames)


FORENAMES, SURNAMES = _gazetteer()


@dataclass(frozen=True)
class Redaction:
    """The rules: Tide's defaults plus the council's own lists (compared without case)."""

    personal_payees: frozenset[str] = field(default_factory=frozenset)
    sensitive_merchants: frozenset[str] = field(default_factory=frozenset)
    vulnerability_words: tuple[str, ...] = VULNERABILITY_WORDS
    forenames: frozenset[str] = FORENAMES
    surnames: frozenset[str] = SURNAMES
    known_businesses: frozenset[str] = KNOWN_BUSINESSES

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


def holds_an_identifier(text: str) -> bool:
    """A postcode, a phone or National Insurance number, an email or a street address."""
    return bool(_IDENTIFIERS.search(text))


def names_a_person(text: str, rules: Redaction) -> bool:
    """Whether two words in a row are a known forename and a known surname (``Sarah Jones``,
    ``sarah jones``), or ``Surname, Forename``, outside the shops named after a person."""
    lowered = " ".join(text.split()).lower()
    if any(business in lowered for business in rules.known_businesses):
        lowered = " ".join(lowered.replace(b, " ") for b in rules.known_businesses if b in lowered)
    words = re.findall(r"[a-z][a-z'\-]+", lowered)
    pairs = itertools.pairwise(words)
    return any(
        (first in rules.forenames and second in rules.surnames)
        or (first in rules.surnames and second in rules.forenames and f"{first}, {second}" in lowered)
        for first, second in pairs
    )


def looks_like_a_person(merchant: str, rules: Redaction) -> bool:
    name = " ".join(merchant.split())
    if name.lower() in rules.personal_payees or holds_an_identifier(name):
        return True
    if _WITH_TITLE.match(name) or names_a_person(name, rules):
        return True
    if _BUSINESS.search(name):
        return False
    return bool(_INITIALS_SURNAME.match(name) or _SURNAME_INITIALS.match(name))


@lru_cache(maxsize=65_536)
def _beneficiary(rules: Redaction, merchant: str) -> str:
    if reveals_vulnerability(merchant, rules):
        return OTHER
    if looks_like_a_person(merchant, rules):
        return PERSONAL
    return " ".join(merchant.split())


def _folded(names: list[str] | None) -> frozenset[str]:
    return frozenset(" ".join(n.split()).lower() for n in names or [])


def rules_from_lists(
    *,
    personal_payees: list[str] | None = None,
    sensitive_merchants: list[str] | None = None,
    vulnerability_words: list[str] | None = None,
    forenames: list[str] | None = None,
    surnames: list[str] | None = None,
    known_businesses: list[str] | None = None,
) -> Redaction:
    """The default rules plus a council's own names and words (case and spacing do not matter)."""
    return Redaction(
        personal_payees=_folded(personal_payees),
        sensitive_merchants=_folded(sensitive_merchants),
        vulnerability_words=VULNERABILITY_WORDS + tuple(sorted(_folded(vulnerability_words))),
        forenames=FORENAMES | _folded(forenames),
        surnames=SURNAMES | _folded(surnames),
        known_businesses=KNOWN_BUSINESSES | _folded(known_businesses),
    )


def combined(first: Redaction, second: Redaction) -> Redaction:
    """Both sets of rules at once (a council's settings and its lists in the database)."""
    return Redaction(
        personal_payees=first.personal_payees | second.personal_payees,
        sensitive_merchants=first.sensitive_merchants | second.sensitive_merchants,
        vulnerability_words=tuple(dict.fromkeys(first.vulnerability_words + second.vulnerability_words)),
        forenames=first.forenames | second.forenames,
        surnames=first.surnames | second.surnames,
        known_businesses=first.known_businesses | second.known_businesses,
    )


@dataclass(frozen=True, slots=True)
class PersonalDataWarning:
    """What a worker's free text seems to hold, said before it is saved (never the text itself)."""

    kinds: tuple[str, ...]

    @property
    def sentence(self) -> str:
        if not self.kinds:
            return ""
        return f"This looks like it holds {', '.join(self.kinds)}. Describe what was bought, not who it was for."


def personal_data_warning(text: str, rules: Redaction | None = None) -> PersonalDataWarning:
    """Whether free text a worker is typing looks personal: a person's name, an identifier
    (postcode, phone, National Insurance number, email, address) or a need-revealing organisation."""
    rules = rules or Redaction()
    kinds: list[str] = []
    if names_a_person(text, rules) or _WITH_TITLE.search(text) or _TITLED_NAME.search(text):
        kinds.append("a person's name")
    if holds_an_identifier(text):
        kinds.append("an address, phone, postcode or National Insurance number")
    if reveals_vulnerability(text, rules):
        kinds.append("an organisation that reveals a need")
    return PersonalDataWarning(kinds=tuple(kinds))


_TITLED_NAME = re.compile(rf"\b{_TITLES}\.?\s+[A-Z][a-z'\-]+", re.IGNORECASE)
