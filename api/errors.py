"""Every domain error, mapped to an RFC 9457 problem in one table.

A problem's ``type`` is a stable URN per rule (``urn:tide:problem:insufficient-funds``);
``title`` is the rule in plain English, ``detail`` the particular case. ``problem_of`` is the
one translation: the JSON API answers it as problem+json and the pages (``api.web.plugin``)
as the HTML error page, with the same status, title and detail. Validation errors list each
field that was wrong. Nothing here decides anything: it only translates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

import ledger
from api.councils import UnknownCouncil
from approvals import errors as approval_errors
from cards import errors as card_errors
from reports import errors as report_errors
from wallet import errors as wallet_errors

PROBLEM_JSON = "application/problem+json"

#: error class → (HTTP status, problem slug, title)
PROBLEMS: dict[type[Exception], tuple[int, str, str]] = {
    wallet_errors.NotFound: (404, "not-found", "Not found"),
    UnknownCouncil: (404, "unknown-council", "No council is served at this address"),
    wallet_errors.NotAllowed: (403, "not-allowed", "Your role cannot do this"),
    wallet_errors.NotSignedIn: (401, "not-signed-in", "Sign in first"),
    wallet_errors.SignInFailed: (401, "sign-in-failed", "The email or password is not right"),
    wallet_errors.TooManySignInAttempts: (429, "too-many-sign-in-attempts", "Too many sign-in attempts"),
    wallet_errors.UnknownCode: (422, "unknown-code", "A code is not one Tide knows"),
    wallet_errors.FamilyClosed: (409, "family-closed", "The family's case is closed"),
    wallet_errors.NeedNotOpen: (422, "need-not-open", "A purchase must answer the family's open needs"),
    wallet_errors.NoWallet: (403, "no-wallet", "Only a key worker with a wallet can buy"),
    wallet_errors.WalletSuspended: (409, "wallet-suspended", "The wallet is suspended"),
    wallet_errors.PurchaseNotInState: (409, "purchase-not-in-state", "The purchase cannot take this step now"),
    wallet_errors.ReceiptRejected: (422, "receipt-rejected", "The receipt file was not accepted"),
    wallet_errors.ReceiptUnsafe: (422, "receipt-unsafe", "The receipt file carries what a receipt may not"),
    wallet_errors.ReceiptErased: (410, "receipt-erased", "The receipt's file was erased under the retention schedule"),
    wallet_errors.ReceiptDamaged: (500, "receipt-damaged", "The receipt's file is missing or damaged"),
    wallet_errors.UnknownFamilyReference: (404, "unknown-family-reference", "No family has that reference"),
    wallet_errors.InvalidPolicy: (422, "invalid-policy", "The spend policy does not make sense"),
    wallet_errors.DuplicateRecord: (409, "duplicate-record", "That already exists"),
    wallet_errors.NothingToChange: (409, "nothing-to-change", "Nothing to change"),
    wallet_errors.FundingSourceNotEligible: (422, "funding-source-not-eligible", "That grant does not fund this"),
    wallet_errors.FundingSourceNotFunded: (409, "funding-source-not-funded", "That pot has not funded this wallet"),
    wallet_errors.DatesOutOfOrder: (422, "dates-out-of-order", "The dates are out of order"),
    wallet_errors.NoSixMonthCheck: (409, "no-six-month-check", "The case is still open: no six-month check is due"),
    wallet_errors.SixMonthCheckAlreadyRecorded: (
        409,
        "six-month-check-already-recorded",
        "The six-month check is already recorded",
    ),
    wallet_errors.NoteLooksPersonal: (422, "note-looks-personal", "The note looks like it holds personal data"),
    wallet_errors.AdminHoldsNoWallet: (409, "admin-holds-no-wallet", "An admin holds no wallet or key worker role"),
    wallet_errors.OwnGrantRefused: (403, "own-grant-refused", "Nobody grants or confirms a change for themselves"),
    wallet_errors.SecondPersonNeeded: (403, "second-person-needed", "A second person must confirm this change"),
    wallet_errors.BadBankDetails: (422, "bad-bank-details", "The sort code and account number are not valid"),
    wallet_errors.SupplierNotConfirmed: (
        409,
        "supplier-not-confirmed",
        "A second finance person must confirm the supplier",
    ),
    wallet_errors.BadSupplierDetails: (422, "bad-supplier-details", "The supplier's details are not complete or valid"),
    wallet_errors.NothingToPay: (409, "nothing-to-pay", "Nothing approved is waiting to be paid"),
    wallet_errors.WorkerBankDetailsNeeded: (
        409,
        "worker-bank-details-needed",
        "The worker's own bank account must be confirmed by a second person first",
    ),
    wallet_errors.ReceiptNeeded: (409, "receipt-needed", "Attach the invoice or receipt before it is paid"),
    wallet_errors.ProposalAlreadyDecided: (409, "proposal-already-decided", "That proposal is already decided"),
    ledger.InsufficientFunds: (402, "insufficient-funds", "Not enough left in the budget"),
    ledger.HoldAlreadyResolved: (409, "hold-already-resolved", "The hold has already settled"),
    ledger.RefundExceedsCapture: (422, "refund-exceeds-capture", "Refunds cannot exceed what was paid"),
    ledger.ReversalExceedsOriginal: (422, "reversal-exceeds-original", "A reversal cannot exceed the original"),
    ledger.IdempotencyConflict: (409, "idempotency-conflict", "That id was already used for another request"),
    ledger.AccountNotFound: (404, "not-found", "Not found"),
    ledger.TransferNotFound: (404, "not-found", "Not found"),
    ledger.InvalidTransfer: (422, "invalid-transfer", "The money movement is not valid"),
    ledger.PeriodClosed: (409, "period-closed", "That month is closed"),
    ledger.OverspendAccountRequired: (409, "overspend-account-required", "The overspend needs a receivable"),
    ledger.AccountCodeTaken: (409, "account-code-taken", "That account code is already used"),
    report_errors.UnknownReport: (404, "not-found", "Not found"),
    report_errors.InvalidMonth: (422, "invalid-month", "That is not a month Tide keeps books for"),
    report_errors.InvalidYear: (422, "invalid-year", "That is not a financial year Tide keeps books for"),
    report_errors.UnexplainedExceptions: (409, "unexplained-exceptions", "Explain every exception first"),
    report_errors.MonthNotOver: (409, "month-not-over", "The month has not ended yet"),
    report_errors.MonthClosed: (409, "month-closed", "That month is closed"),
    report_errors.NoSuchException: (422, "no-such-exception", "The reconciliation has no such exception"),
    report_errors.BadAccountCode: (
        422,
        "bad-account-code",
        "An account code or cost centre is not one the GL can take",
    ),
    report_errors.BadJournalLayout: (422, "bad-journal-layout", "The journal layout is not complete"),
    card_errors.CardNotInState: (409, "card-not-in-state", "The card cannot take this step now"),
    card_errors.CardIssuerUnavailable: (503, "card-issuer-unavailable", "The card issuer could not be reached"),
    card_errors.EventBeforeItsObject: (503, "event-before-its-object", "The event is early; deliver it again"),
    card_errors.RefundNotToMatch: (409, "refund-not-to-match", "The refund is not waiting to be matched"),
    card_errors.RefundDoesNotFit: (409, "refund-does-not-fit", "That purchase cannot take this refund"),
    card_errors.NoWorkMobile: (409, "no-work-mobile", "The key worker needs a work mobile on record for a card"),
    card_errors.NoShippingAddress: (409, "no-shipping-address", "The team has no office address to ship a card to"),
    card_errors.SignInNotRecent: (401, "sign-in-not-recent", "Sign in again to see the card details"),
    wallet_errors.NotAUkMobile: (422, "not-a-uk-mobile", "That is not a UK mobile number"),
    wallet_errors.AllowanceAlreadyUsed: (409, "allowance-already-used", "That approval has already been used"),
    wallet_errors.TokenIsReadOnly: (403, "token-is-read-only", "This API token may only read"),
    wallet_errors.PasswordTooShort: (422, "password-too-short", "The password is too short"),
    wallet_errors.PasswordTooLong: (422, "password-too-long", "The password is too long"),
    wallet_errors.PasswordTooCommon: (422, "password-too-common", "The password is too common"),
    wallet_errors.PasswordSignInOff: (403, "password-sign-in-off", "Sign in through your council account"),
    wallet_errors.SingleSignOnFailed: (401, "single-sign-on-failed", "Signing in through your council failed"),
    wallet_errors.NoRoleMapped: (403, "no-role-mapped", "Your council account has no role in Tide"),
    wallet_errors.OwnAdminRoleKept: (403, "own-admin-role-kept", "Another admin must do this"),
    approval_errors.ApprovalAlreadyDecided: (409, "approval-already-decided", "The request has already been decided"),
    approval_errors.SelfApprovalRefused: (403, "self-approval-refused", "Nobody approves their own spending"),
    approval_errors.NotAnApprover: (403, "not-an-approver", "You cannot decide this request"),
    approval_errors.SecondApproverRequired: (
        409,
        "second-approver-required",
        "A second person must approve this amount",
    ),
    approval_errors.CeilingAboveRequest: (422, "ceiling-above-request", "An approval cannot be for more than asked"),
    approval_errors.NotTheRequester: (403, "not-the-requester", "Only the worker who asked can do this"),
    approval_errors.ReasonRequired: (422, "reason-required", "Say why the request is declined"),
    approval_errors.ReviewNotOpen: (409, "review-not-open", "The review is already closed"),
}

#: Problems the API raises itself, not the domain.
IDEMPOTENCY_KEY_REUSED = (409, "idempotency-key-reused", "That Idempotency-Key was used for a different request")
IDEMPOTENCY_KEY_INVALID = (400, "idempotency-key-invalid", "The Idempotency-Key header is not valid")
CSRF_FAILED = (403, "csrf-failed", "The form's security token is missing or wrong")
VALIDATION = (422, "validation-error", "The request is not valid")
DECLINED = (402, "purchase-declined", "The purchase was declined")


def problem(status: int, slug: str, title: str, detail: str | None = None, **extra: Any) -> Response[dict[str, Any]]:
    """A problem+json response."""
    body: dict[str, Any] = {"type": f"urn:tide:problem:{slug}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


@dataclass(frozen=True, slots=True)
class Problem:
    """A domain error as the person asking sees it: the rule's status, slug and title, and
    the particular case (the error's message) as detail."""

    status: int
    slug: str
    title: str
    detail: str | None = None


def problem_of(exc: Exception) -> Problem | None:
    """The problem for a domain error, from its nearest mapped class; ``None`` if unmapped."""
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            status, slug, title = PROBLEMS[cls]
            return Problem(status=status, slug=slug, title=title, detail=str(exc) or None)
    return None


def problem_for(exc: Exception) -> Response[dict[str, Any]]:
    """The problem+json response for a domain error (an unmapped one is our failure: 500)."""
    found = problem_of(exc)
    if found is None:
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Something went wrong on our side")
    response = problem(found.status, found.slug, found.title, found.detail)
    retry_after = getattr(exc, "retry_after_seconds", None)
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


def _domain_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    return problem_for(exc)


def _validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    fields = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            name = str(item.get("key") or item.get("source") or "")
            fields.append({"field": name, "message": str(item.get("message"))})
    detail = str(exc.detail) if exc.detail else "the request is not valid"
    status, slug, title = VALIDATION
    return problem(status, slug, title, detail, errors=fields)


def _http_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    slug = {
        400: "malformed-request",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
        429: "too-many-requests",
    }.get(exc.status_code, f"http-{exc.status_code}")
    response = problem(exc.status_code, slug, str(exc.detail or "Request failed"))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def exception_handlers() -> dict[type[Exception] | int, Any]:
    """Register with Litestar: every mapped domain error, validation, and HTTP errors."""
    handlers: dict[type[Exception] | int, Any] = dict.fromkeys(PROBLEMS, _domain_handler)
    handlers[ValidationException] = _validation_handler
    handlers[NotFoundException] = _http_handler
    handlers[MethodNotAllowedException] = _http_handler
    handlers[HTTPException] = _http_handler
    return handlers


__all__ = [
    "PROBLEMS",
    "PROBLEM_JSON",
    "MediaType",
    "Problem",
    "exception_handlers",
    "problem",
    "problem_for",
    "problem_of",
]
