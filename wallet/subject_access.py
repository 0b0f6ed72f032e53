"""A subject access request: everything Tide holds about one family reference, in one file.

The export is a zip: ``family.json`` (the family, its case-system link, its workers, needs and
their reviews, the purchases made for it with their receipts' details, the requests to a
manager about it and their conversation, its six-month check, the audit log's entries about it) and
``receipts/<id>.<ext>``, each receipt file still kept. Only an admin asks (the council's data
protection officer works through one), or an operator at the command line, who holds the
database anyway. Each export is audited, by the family's id, never its reference.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.approval_models import ApprovalMessage, ApprovalRequest
from wallet.errors import ReceiptDamaged, ReceiptErased, UnknownFamilyReference
from wallet.models import (
    AuditEntry,
    Family,
    FamilyCaseLink,
    FamilyWorker,
    Need,
    NeedReview,
    Purchase,
    PurchaseNeed,
    Receipt,
)
from wallet.receipts import download_headers, receipt_content
from wallet.sustain_check_models import SustainCheck


@dataclass(frozen=True, slots=True)
class FamilyExport:
    """What is held: the record (JSON-ready) and the receipt files by their name in the zip."""

    record: dict[str, Any]
    files: dict[str, bytes]

    def as_zip(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("family.json", json.dumps(self.record, indent=2, sort_keys=True, default=str))
            for name, content in sorted(self.files.items()):
                archive.writestr(name, content)
        return out.getvalue()


def _row(obj: object, *names: str) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


async def export_family(db: AsyncSession, *, who: Principal | None, reference: str, now: datetime) -> FamilyExport:
    """Everything held about the family with ``reference`` (``UnknownFamilyReference`` if none)."""
    if who is not None:
        who.require("admin")
    family = (await db.execute(select(Family).where(Family.reference == reference))).scalar_one_or_none()
    if family is None:
        raise UnknownFamilyReference("no family has that reference")
    purchases, files = await _purchases(db, family.id)
    record = {
        "family": _row(
            family,
            "reference",
            "status",
            "locality",
            "age_bands",
            "opened_on",
            "closed_on",
            "closure_reason",
            "sustain_check_on",
            "created_at",
            "erased_at",
        ),
        "case_link": await _case_link(db, family.id),
        "worker_ids": sorted(
            (await db.execute(select(FamilyWorker.person_id).where(FamilyWorker.family_id == family.id))).scalars()
        ),
        "needs": await _needs(db, family.id),
        "six_month_check": await _six_month_check(db, family.id),
        "purchases": purchases,
        "requests": await _requests(db, family.id),
        "audit": [
            _row(entry, "at", "actor_id", "action", "details")
            for entry in (
                await db.execute(
                    select(AuditEntry)
                    .where(AuditEntry.subject_type == "family", AuditEntry.subject_id == str(family.id))
                    .order_by(AuditEntry.id)
                )
            ).scalars()
        ],
        "exported_at": now,
    }
    await audit.record(
        db,
        actor=who,
        action="family.exported",
        subject_type="family",
        subject_id=family.id,
        now=now,
        details={"receipt_files": len(files)},
    )
    return FamilyExport(record=record, files=files)


async def _case_link(db: AsyncSession, family_id: int) -> dict[str, Any] | None:
    link = await db.get(FamilyCaseLink, family_id)
    return None if link is None else _row(link, "case_system", "case_system_id")


async def _six_month_check(db: AsyncSession, family_id: int) -> dict[str, Any] | None:
    check = (await db.execute(select(SustainCheck).where(SustainCheck.family_id == family_id))).scalar_one_or_none()
    if check is None:
        return None
    names = ("closed_on", "due_on", "worker_told_at", "manager_told_at", "result", "checked_on", "note", "recorded_at")
    return _row(check, *names)


async def _needs(db: AsyncSession, family_id: int) -> list[dict[str, Any]]:
    needs = list((await db.execute(select(Need).where(Need.family_id == family_id).order_by(Need.id))).scalars())
    reviews = (
        await db.execute(
            select(NeedReview).where(NeedReview.need_id.in_([n.id for n in needs])).order_by(NeedReview.id)
        )
    ).scalars()
    by_need: dict[int, list[dict[str, Any]]] = {}
    for review in reviews:
        by_need.setdefault(review.need_id, []).append(_row(review, "outcome", "score", "reviewed_on"))
    return [
        {
            **_row(need, "id", "code", "whose", "identified_on", "evidence_source", "baseline_score", "status"),
            "reviews": by_need.get(need.id, []),
        }
        for need in needs
    ]


async def _purchases(db: AsyncSession, family_id: int) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    purchases = list(
        (await db.execute(select(Purchase).where(Purchase.family_id == family_id).order_by(Purchase.id))).scalars()
    )
    ids = [p.id for p in purchases]
    needs = (await db.execute(select(PurchaseNeed).where(PurchaseNeed.purchase_id.in_(ids)))).scalars()
    receipts = (await db.execute(select(Receipt).where(Receipt.purchase_id.in_(ids)).order_by(Receipt.id))).scalars()
    need_ids: dict[int, list[int]] = {}
    for link in needs:
        need_ids.setdefault(link.purchase_id, []).append(link.need_id)
    files: dict[str, bytes] = {}
    receipts_of: dict[int, list[dict[str, Any]]] = {}
    for receipt in receipts:
        seen = _row(receipt, "id", "content_type", "size", "sha256", "uploaded_at", "erased_at")
        name = "receipts/" + download_headers(receipt)["content-disposition"].split('filename="')[1].rstrip('"')
        try:
            files[name] = await receipt_content(db, receipt)
            seen["file"] = name
        except (ReceiptErased, ReceiptDamaged) as exc:
            seen["file"] = None
            seen["file_missing"] = str(exc)
        receipts_of.setdefault(receipt.purchase_id, []).append(seen)
    return [
        {
            **_row(
                p,
                "id",
                "created_at",
                "category",
                "description",
                "supplier",
                "amount",
                "payment_method",
                "status",
                "captured_amount",
                "refunded_amount",
            ),
            "need_ids": sorted(need_ids.get(p.id, [])),
            "receipts": receipts_of.get(p.id, []),
        }
        for p in purchases
    ], files


async def _requests(db: AsyncSession, family_id: int) -> list[dict[str, Any]]:
    requests = list(
        (
            await db.execute(
                select(ApprovalRequest).where(ApprovalRequest.family_id == family_id).order_by(ApprovalRequest.id)
            )
        ).scalars()
    )
    messages = (
        await db.execute(
            select(ApprovalMessage)
            .where(ApprovalMessage.request_id.in_([r.id for r in requests]))
            .order_by(ApprovalMessage.id)
        )
    ).scalars()
    by_request: dict[int, list[dict[str, Any]]] = {}
    for message in messages:
        by_request.setdefault(message.request_id, []).append(_row(message, "kind", "body", "created_at"))
    return [
        {
            **_row(r, "id", "created_at", "category", "amount", "reason", "status", "decision_reason"),
            "messages": by_request.get(r.id, []),
        }
        for r in requests
    ]
