"""The indexes the daily retention job reads through (migration 0031).

Each step of the job reads what is due, never the whole of its table each day: the rows it
already erased (a family pseudonymised, free text become ``erased``, a receipt's file gone, a
note cleared) leave a partial index whose condition is "not yet erased", and the rows it
deletes (sessions, tokens, sign-in attempts, drafts, idempotency records, notifications) are
found by the moment that makes them due. The conditions are written once, here, and the job's
queries say the same words, so the database can see the index answers them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Index, literal_column, text

from wallet.approval_models import Allowance, ApprovalMessage, ApprovalRequest, Notification, ReceiptReview
from wallet.buy_drafts import BuyDraft
from wallet.idempotency_models import IdempotencyRecord
from wallet.models import Family, Purchase, Receipt
from wallet.sign_in_models import ApiToken, BrowserSession, SignInAttempt

#: What free text becomes once erased.
ERASED = "erased"
#: ``'erased'`` written into the statement (not a parameter), so a partial index's condition
#: can be seen to hold whatever plan the database keeps for the statement.
ERASED_LITERAL: ColumnElement[str] = literal_column(f"'{ERASED}'")

FAMILY_AWAITING_ERASURE = "status = 'closed' AND erased_at IS NULL"
PURCHASE_TEXT_KEPT = f"description <> '{ERASED}' OR supplier <> '{ERASED}'"
REQUEST_TEXT_KEPT = f"reason <> '{ERASED}'"
MESSAGE_KEPT = f"body <> '{ERASED}'"
RECEIPT_FILE_KEPT = "erased_at IS NULL"
REVIEW_NOTE_KEPT = "note IS NOT NULL"
REVOKED = "revoked_at IS NOT NULL"
HAS_FAMILY = "family_id IS NOT NULL"


def _partial(name: str, column: Any, condition: str) -> Index:
    return Index(name, column, postgresql_where=text(condition), sqlite_where=text(condition))


#: Every index the job reads through (migration 0031 builds them; declared here for the metadata).
INDEXES = (
    _partial("ix_families_awaiting_erasure", Family.__table__.c.closed_on, FAMILY_AWAITING_ERASURE),
    _partial("ix_purchases_text_kept", Purchase.__table__.c.created_at, PURCHASE_TEXT_KEPT),
    _partial("ix_receipts_file_kept", Receipt.__table__.c.purchase_id, RECEIPT_FILE_KEPT),
    _partial("ix_approval_requests_text_kept", ApprovalRequest.__table__.c.created_at, REQUEST_TEXT_KEPT),
    _partial("ix_approval_requests_family", ApprovalRequest.__table__.c.family_id, HAS_FAMILY),
    _partial("ix_allowances_family", Allowance.__table__.c.family_id, HAS_FAMILY),
    _partial("ix_approval_messages_kept", ApprovalMessage.__table__.c.request_id, MESSAGE_KEPT),
    _partial("ix_receipt_reviews_note_kept", ReceiptReview.__table__.c.opened_at, REVIEW_NOTE_KEPT),
    Index("ix_notifications_created", Notification.__table__.c.created_at),
    Index("ix_sessions_expires", BrowserSession.__table__.c.expires_at),
    Index("ix_sessions_last_seen", BrowserSession.__table__.c.last_seen_at),
    _partial("ix_sessions_revoked", BrowserSession.__table__.c.revoked_at, REVOKED),
    Index("ix_api_tokens_expires", ApiToken.__table__.c.expires_at),
    _partial("ix_api_tokens_revoked", ApiToken.__table__.c.revoked_at, REVOKED),
    Index("ix_sign_in_attempts_at", SignInAttempt.__table__.c.at),
    Index("ix_buy_drafts_updated", BuyDraft.__table__.c.updated_at),
    Index("ix_idempotency_records_created", IdempotencyRecord.__table__.c.created_at),
)
