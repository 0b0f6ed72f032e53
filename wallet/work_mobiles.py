"""Work mobiles: the one place a phone number is read. Stripe texts 3-D Secure codes for online
card payments to the cardholder's phone, so a card needs its key worker's work mobile, kept
in E.164 (``+447`` and nine digits). A UK mobile written the usual way (``07700 900123``) is
taken too and stored in E.164."""

from __future__ import annotations

import re

from wallet.errors import NotAUkMobile

_E164_UK_MOBILE = re.compile(r"^\+447\d{9}$")
_SPACING = re.compile(r"[\s()-]")


def uk_mobile(written: str) -> str:
    """``written`` as a UK mobile in E.164, or ``NotAUkMobile``."""
    compact = _SPACING.sub("", written.strip())
    if compact.startswith("07"):
        compact = "+44" + compact[1:]
    elif compact.startswith("00447"):
        compact = "+" + compact[2:]
    if not _E164_UK_MOBILE.fullmatch(compact):
        raise NotAUkMobile("a work mobile is a UK mobile number: +447 and nine digits (or 07 and nine digits)")
    return compact
