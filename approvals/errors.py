"""One error class per broken approval rule. ``api`` maps each to an HTTP problem in one table."""

from __future__ import annotations


class ApprovalError(Exception):
    """Base of every approvals error."""

    code = "approval_error"


class ApprovalAlreadyDecided(ApprovalError):
    """A decision is final: a decided or cancelled request takes no second decision."""

    code = "approval_already_decided"


class SelfApprovalRefused(ApprovalError):
    """Nobody approves their own request, nor spending from their own wallet."""

    code = "self_approval_refused"


class NotAnApprover(ApprovalError):
    """Only a manager of the requester's team, their deputy, or (once escalated) the team's
    fallback approver decides; a second approval comes from another manager or finance."""

    code = "not_an_approver"


class SecondApproverRequired(ApprovalError):
    """Above the council's threshold, a second person (not the first approver) must also approve."""

    code = "second_approver_required"


class CeilingAboveRequest(ApprovalError):
    """An approval may lower the amount asked for, never raise it."""

    code = "ceiling_above_request"


class NotTheRequester(ApprovalError):
    """Only the worker who asked answers a question on, or cancels, their request."""

    code = "not_the_requester"


class ReviewNotOpen(ApprovalError):
    """The receipt review has already been resolved or cleared."""

    code = "review_not_open"


class ReasonRequired(ApprovalError):
    """A declined request always says why, so the worker can act on it."""

    code = "reason_required"
