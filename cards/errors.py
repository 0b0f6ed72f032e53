"""One error class per broken card rule. ``api`` maps each to an HTTP problem in one table."""

from __future__ import annotations


class CardError(Exception):
    """Base of every cards error."""

    code = "card_error"


class CardNotInState(CardError):
    """The card cannot take this step now (already frozen, cancelled, or its wallet is suspended)."""

    code = "card_not_in_state"


class CardIssuerUnavailable(CardError):
    """The card issuer (Stripe) could not be reached or refused the request; nothing changed."""

    code = "card_issuer_unavailable"
