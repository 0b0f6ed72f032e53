"""The retention schedule: what is erased or pseudonymised when, while the money trail stays.

Each kind of record has a period and a trigger (the council sets the periods; the defaults are
the usual English local-authority ones):

- **A family**, when its case closed (``closed_on``) N years ago: the link to the case
  system and the workers are deleted; the reference is replaced by a new random one, locality
  and age bands erased; its purchases, requests and allowances lose the family, its needs and
  their free text, its six-month check its note. Needs and the check's result stay, as codes,
  with the pseudonymous family (outcome counts add up).
- **A receipt's file**, N whole years after the end of its purchase's financial year: the file
  leaves the receipt store; the row (that a receipt was given) stays, ``erased_at`` set.
- **Financial free text**, likewise after its purchase's (or request's) financial year: a
  purchase's description and supplier, a request's reasons and messages, a review's note
  become ``erased``; notifications are deleted. Amounts, dates, accounts and the ledger stay.
- **The audit log**, N whole years after the end of the entry's financial year: deleted,
  through the erasure permit the audit log's guard asks for.
- **Sessions, API tokens, sign-in attempts, buying drafts**, N days after they ended (expiry,
  revocation, last use); **idempotency records** N days after they were written: deleted.

Invariants: nothing in the ledger is touched (``wallet ledger verify`` stays clean, every
balance the same); running twice erases nothing more; each run writes one audit entry that
counts what went and names nobody. A financial year ends on 31 March (``ledger.clock``'s
London dates); "N years after the end of the year" means the whole of N later years have
passed, so a purchase of May 2025 (year ending 31 March 2026) goes on 1 April 2032 with N = 6.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.clock import LONDON
from wallet import audit
from wallet.approval_models import Allowance, ApprovalMessage, ApprovalRequest, Notification, ReceiptReview
from wallet.buy_drafts import BuyDraft
from wallet.clock import local_date
from wallet.idempotency_models import IdempotencyRecord
from wallet.keeping_models import ErasurePermit
from wallet.models import (
    AuditEntry,
    Family,
    FamilyCaseLink,
    FamilyWorker,
    Purchase,
    PurchaseNeed,
    Receipt,
)
from wallet.receipt_store import store_of
from wallet.retention_indexes import ERASED, ERASED_LITERAL
from wallet.sign_in_models import ApiToken, BrowserSession, SignInAttempt
from wallet.sustain_check_models import SustainCheck

__all__ = [
    "ERASED",
    "RetentionReport",
    "RetentionSchedule",
    "after_whole_years_cutoff",
    "apply_retention",
    "financial_year_start",
    "years_before",
]


@dataclass(frozen=True, slots=True)
class RetentionSchedule:
    """Each record's period (see the module's table for its trigger)."""

    family_years: int = 6
    receipt_years: int = 6
    financial_years: int = 6
    audit_years: int = 7
    session_days: int = 90
    idempotency_days: int = 30


@dataclass(slots=True)
class RetentionReport:
    """How many of each went in one run (counts only: this is what the audit entry says)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, how_many: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + how_many

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def financial_year_start(day: date) -> date:
    """1 April of the financial year ``day`` is in."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def after_whole_years_cutoff(today: date, years: int) -> datetime:
    """Moments before this are in a financial year that ended at least ``years`` whole years ago."""
    start = financial_year_start(today)
    return datetime.combine(start.replace(year=start.year - years), time(0), LONDON).astimezone(UTC)


async def apply_retention(db: AsyncSession, *, schedule: RetentionSchedule, now: datetime) -> RetentionReport:
    """Erase or pseudonymise everything the schedule says is due at ``now``; audited by counts."""
    report = RetentionReport()
    today = local_date(now)
    await _erase_families(db, closed_before=years_before(today, schedule.family_years), now=now, report=report)
    await _erase_receipt_files(
        db, before=after_whole_years_cutoff(today, schedule.receipt_years), now=now, report=report
    )
    await _erase_free_text(db, before=after_whole_years_cutoff(today, schedule.financial_years), report=report)
    await _delete_old_audit(db, before=after_whole_years_cutoff(today, schedule.audit_years), now=now, report=report)
    await _delete_ended_sign_ins(db, before=now - timedelta(days=schedule.session_days), report=report)
    old = now - timedelta(days=schedule.idempotency_days)
    gone = await db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < old))
    report.add("idempotency_records", _rows(gone))
    await audit.record(
        db,
        actor=None,
        action="retention.applied",
        subject_type="retention",
        subject_id=today.isoformat(),
        now=now,
        details=dict(sorted(report.counts.items())),
    )
    return report


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _erase_families(db: AsyncSession, *, closed_before: date, now: datetime, report: RetentionReport) -> None:
    due = list(
        (
            await db.execute(
                select(Family.id).where(
                    Family.status == literal_column("'closed'"),
                    Family.closed_on < closed_before,
                    Family.erased_at.is_(None),
                )
            )
        ).scalars()
    )
    if not due:
        return
    purchases = select(Purchase.id).where(Purchase.family_id.in_(due)).scalar_subquery()
    await db.execute(delete(PurchaseNeed).where(PurchaseNeed.purchase_id.in_(purchases)))
    await db.execute(update(Purchase).where(Purchase.family_id.in_(due)).values(family_id=None, description=ERASED))
    requests = select(ApprovalRequest.id).where(ApprovalRequest.family_id.in_(due)).scalar_subquery()
    await db.execute(update(ApprovalMessage).where(ApprovalMessage.request_id.in_(requests)).values(body=ERASED))
    await db.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.family_id.in_(due))
        .values(family_id=None, need_ids=[], reason=ERASED, decision_reason=None)
    )
    await db.execute(update(Allowance).where(Allowance.family_id.in_(due)).values(family_id=None, need_ids=[]))
    await db.execute(
        update(SustainCheck).where(SustainCheck.family_id.in_(due), SustainCheck.note.is_not(None)).values(note=ERASED)
    )
    await db.execute(delete(FamilyCaseLink).where(FamilyCaseLink.family_id.in_(due)))
    await db.execute(delete(FamilyWorker).where(FamilyWorker.family_id.in_(due)))
    for family_id in due:
        await db.execute(
            update(Family)
            .where(Family.id == family_id)
            .values(reference=_new_reference(), locality=ERASED, age_bands=[], sustain_check_on=None, erased_at=now)
        )
    report.add("families", len(due))


def _new_reference() -> str:
    """A reference no one has seen: ``X`` and 15 random hex digits (the family's real one is gone)."""
    return "X" + secrets.token_hex(8)[:15].upper()


async def _erase_receipt_files(db: AsyncSession, *, before: datetime, now: datetime, report: RetentionReport) -> None:
    # The receipts whose file is still kept (an index of them), each purchase looked up by its key.
    due = (
        select(Receipt.id, Receipt.content_sha256)
        .join(Purchase, Purchase.id == Receipt.purchase_id)
        .where(Receipt.erased_at.is_(None), Purchase.created_at < before)
    )
    rows = (await db.execute(due)).all()
    if not rows:
        return
    await db.execute(update(Receipt).where(Receipt.id.in_([r.id for r in rows])).values(erased_at=now))
    store = store_of(db)
    for sha256 in sorted({r.content_sha256 for r in rows}):
        still_kept = await db.scalar(
            select(func.count()).where(Receipt.content_sha256 == sha256, Receipt.erased_at.is_(None))
        )
        if not still_kept:
            await store.delete(db, sha256=sha256)
    report.add("receipt_files", len(rows))


async def _erase_free_text(db: AsyncSession, *, before: datetime, report: RetentionReport) -> None:
    done = await db.execute(
        update(Purchase)
        .where(
            Purchase.created_at < before,
            (Purchase.description != ERASED_LITERAL) | (Purchase.supplier != ERASED_LITERAL),
        )
        .values(description=ERASED, supplier=ERASED)
    )
    report.add("purchases_free_text", _rows(done))
    # The messages still kept (an index of them), each request looked up by its key.
    old_requests = (
        select(ApprovalMessage.id)
        .join(ApprovalRequest, ApprovalRequest.id == ApprovalMessage.request_id)
        .where(ApprovalMessage.body != ERASED_LITERAL, ApprovalRequest.created_at < before)
        .scalar_subquery()
    )
    await db.execute(update(ApprovalMessage).where(ApprovalMessage.id.in_(old_requests)).values(body=ERASED))
    done = await db.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.created_at < before, ApprovalRequest.reason != ERASED_LITERAL)
        .values(reason=ERASED, decision_reason=None)
    )
    report.add("requests_free_text", _rows(done))
    await db.execute(
        update(ReceiptReview).where(ReceiptReview.opened_at < before, ReceiptReview.note.is_not(None)).values(note=None)
    )
    done = await db.execute(delete(Notification).where(Notification.created_at < before))
    report.add("notifications", _rows(done))


async def _delete_old_audit(db: AsyncSession, *, before: datetime, now: datetime, report: RetentionReport) -> None:
    """Old entries go through the audit log's guard, which lets a delete by while a permit is held."""
    if await db.scalar(select(func.count()).where(AuditEntry.at < before)) == 0:
        return
    db.add(ErasurePermit(id=1, granted_at=now))
    await db.flush()
    done = await db.execute(delete(AuditEntry).where(AuditEntry.at < before))
    await db.execute(delete(ErasurePermit))
    report.add("audit_entries", _rows(done))


async def _delete_ended_sign_ins(db: AsyncSession, *, before: datetime, report: RetentionReport) -> None:
    done = await db.execute(
        delete(BrowserSession).where(
            (BrowserSession.expires_at < before)
            | (BrowserSession.last_seen_at < before)
            | (BrowserSession.revoked_at < before)
        )
    )
    report.add("sessions", _rows(done))
    done = await db.execute(delete(ApiToken).where((ApiToken.expires_at < before) | (ApiToken.revoked_at < before)))
    report.add("api_tokens", _rows(done))
    done = await db.execute(delete(SignInAttempt).where(SignInAttempt.at < before))
    report.add("sign_in_attempts", _rows(done))
    done = await db.execute(delete(BuyDraft).where(BuyDraft.updated_at < before))
    report.add("buy_drafts", _rows(done))
