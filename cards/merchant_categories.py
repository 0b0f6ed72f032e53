"""Merchant categories: every category Stripe Issuing can send, in one reviewed table.

A card authorization or transaction names its merchant's category by Stripe's slug
(``merchant_data.category``) and by its merchant category code (``category_code``, the MCC).
``merchant_categories.csv``, beside this module, has one row per slug stripe-python lists
(``tests/cards/test_merchant_categories.py`` holds the two equal, so a stripe upgrade that adds a
slug fails there until someone reviews it), with:

- ``slug``: Stripe's name, as it arrives;
- ``mcc``: the card schemes' code Stripe documents for it (none for ``miscellaneous``);
- ``name``: the plain-English name the published files print, never the slug;
- ``purpose``: the Tide purchase category it buys, which the spend policy is then asked about
  like any purchase's, or ``not allowed``.

``not allowed`` is for what no family's plan buys with a council card whatever a policy says:
gambling, securities, dating, pawn shops, vehicle dealers, wholesale trade. Cash and alcohol
keep Tide's own purchase categories (``CASH``, ``ALCOHOL``): the default policy refuses them
by name, and a council may allow cash in the exceptional circumstances section 17 permits.

At the till a slug decides, never the MCC: a slug with a purchase category is asked of the
policy; ``not allowed`` is declined (``merchant_category_not_allowed``); a slug not in the table
(one Stripe added after the table was reviewed, or none at all) is declined as
``merchant_category_unknown``, never guessed from its code and never an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from wallet.taxonomy import CATEGORIES

#: The ``purpose`` of a category no purchase may be made in.
NOT_ALLOWED = "not allowed"
#: The till's reasons for declining a merchant category.
UNKNOWN_REASON = "merchant_category_unknown"
NOT_ALLOWED_REASON = "merchant_category_not_allowed"
DATA_FILE = "merchant_categories.csv"
_HEADER = ["slug", "mcc", "name", "purpose"]


@dataclass(frozen=True, slots=True)
class MerchantCategory:
    """One of Stripe's merchant categories, as Tide treats it."""

    slug: str
    mcc: str
    name: str
    #: The purchase category it buys, or ``None``: not allowed.
    purpose: str | None


def parse(text: str) -> dict[str, MerchantCategory]:
    """The table in ``text`` (the data file's format), checked row by row."""
    reader = csv.reader(io.StringIO(text))
    if next(reader, None) != _HEADER:
        raise ValueError(f"{DATA_FILE}: the header must be {','.join(_HEADER)}")
    table: dict[str, MerchantCategory] = {}
    for line, row in enumerate(reader, start=2):
        if len(row) != len(_HEADER):
            raise ValueError(f"{DATA_FILE}:{line}: four columns expected")
        slug, mcc, name, purpose = (cell.strip() for cell in row)
        if not slug or slug in table:
            raise ValueError(f"{DATA_FILE}:{line}: a missing or repeated slug {slug!r}")
        if mcc and not (len(mcc) == 4 and mcc.isdigit()):
            raise ValueError(f"{DATA_FILE}:{line}: {mcc!r} is not a four-digit MCC")
        if not name or name == slug:
            raise ValueError(f"{DATA_FILE}:{line}: {slug} needs a plain-English name")
        if purpose != NOT_ALLOWED and purpose not in CATEGORIES:
            raise ValueError(f"{DATA_FILE}:{line}: {purpose!r} is neither a purchase category nor {NOT_ALLOWED!r}")
        table[slug] = MerchantCategory(slug, mcc, name, None if purpose == NOT_ALLOWED else purpose)
    return table


def _load() -> Mapping[str, MerchantCategory]:
    text = resources.files(__package__ or "cards").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return MappingProxyType(parse(text))


#: Every merchant category Stripe can send, by slug.
TABLE: Mapping[str, MerchantCategory] = _load()


def purpose_of(slug: str | None) -> str | None:
    """The purchase category a merchant category buys; ``None`` when it is not allowed or
    not in the table (the till declines it)."""
    found = TABLE.get(slug or "")
    return found.purpose if found is not None else None


def refusal(slug: str | None) -> str | None:
    """Why the till declines a merchant category whatever the policy says, if it does."""
    found = TABLE.get(slug or "")
    if found is None:
        return UNKNOWN_REASON
    return NOT_ALLOWED_REASON if found.purpose is None else None


def name_of(slug: str | None) -> str | None:
    """The plain-English name a published file prints for a merchant category, or ``None``
    when the slug is not in the table."""
    found = TABLE.get(slug or "")
    return found.name if found is not None else None
