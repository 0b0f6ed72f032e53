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


class EventBeforeItsObject(CardError):
    """A Stripe event about an object Tide has not recorded yet (a dispute before its
    transaction): nothing is applied, and the event is delivered (or synced) again later."""

    code = "event_before_its_object"


class RefundNotToMatch(CardError):
    """Only a card refund still to match is assigned to a purchase, once."""

    code = "refund_not_to_match"


class RefundDoesNotFit(CardError):
    """A refund is assigned only to a card purchase of the same wallet that can take all of
    it (what it captured less what came back already)."""

    code = "refund_does_not_fit"


class NoWorkMobile(CardError):
    """A card needs its key worker's work mobile first: Stripe texts the 3-D Secure codes for
    online payments to it."""

    code = "no_work_mobile"


class NoShippingAddress(CardError):
    """A physical card is shipped to the key worker's team office: the team needs an office
    address before one can be requested."""

    code = "no_shipping_address"


class SignInNotRecent(CardError):
    """A card's number, expiry, security code and PIN are shown only to someone who signed in
    within the last few minutes (``TIDE_CARD_REVEAL_SIGN_IN_MINUTES``): sign in again first."""

    code = "sign_in_not_recent"
