"""Receipts: photos or PDFs of what was bought, checked by their content, never by their name.

The file is read by a real parser (:mod:`wallet.receipt_files`): a photo is kept re-encoded
with no metadata, a PDF only when it carries nothing active. Each upload is fingerprinted
with SHA-256; the same file already attached to another purchase is flagged as a duplicate
(a receipt used twice is the commonest card fraud) and the purchase goes to review. Who is
told which receipt it duplicates is scoped: only someone who may see the earlier receipt's
purchase (finance, the auditor, a manager of both teams) reads its id; the key worker of
another team learns nothing about where the first one is. A receipt is served only to those
who may see its purchase.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal, visible_purchases
from wallet.errors import NotAllowed, NotFound, ReceiptErased, ReceiptRejected
from wallet.models import Purchase, Receipt
from wallet.purchases import get_purchase
from wallet.receipt_files import checked
from wallet.receipt_store import read_checked, sha256_of, store_of

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
#: What ``sniff`` can recognise, so what a receipt is stored (and served) as.
CONTENT_TYPES = ("image/jpeg", "image/png", "application/pdf")
#: Every receipt is served as a download, in a sandbox with nothing allowed, never sniffed.
SERVED_HEADERS = {
    "cache-control": "private, no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'",
}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def download_headers(receipt: Receipt) -> dict[str, str]:
    """The headers every channel serves ``receipt`` with (an attachment, sandboxed)."""
    name = f"receipt-{receipt.id}.{_EXTENSIONS.get(receipt.content_type, 'bin')}"
    return {**SERVED_HEADERS, "content-disposition": f'attachment; filename="{name}"'}


def sniff(content: bytes) -> str | None:
    """The content type of a JPEG, PNG, HEIC or PDF file by its first bytes, else ``None``."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if len(content) >= 12 and content[4:8] == b"ftyp" and content[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


async def attach_receipt(
    db: AsyncSession, *, who: Principal, purchase_id: int, content: bytes, now: datetime
) -> Receipt:
    """Attach a receipt to a purchase the caller made (or manages)."""
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id)
    if not (purchase.worker_id == who.person_id or purchase.team_id in who.managed_team_ids):
        raise NotAllowed("only the key worker who made the purchase, or their manager, adds receipts")
    if not content:
        raise ReceiptRejected("the receipt file is empty")
    if len(content) > MAX_RECEIPT_BYTES:
        raise ReceiptRejected(f"a receipt may be at most {MAX_RECEIPT_BYTES // (1024 * 1024)} MB")
    content_type = sniff(content)
    if content_type is None:
        raise ReceiptRejected("a receipt must be a JPEG or PNG photo or a PDF")
    kept = await asyncio.to_thread(checked, content, content_type)
    digest = hashlib.sha256(content).hexdigest()
    earlier = (
        (
            await db.execute(
                select(Receipt).where(Receipt.sha256 == digest, Receipt.duplicate_of.is_(None)).order_by(Receipt.id)
            )
        )
        .scalars()
        .first()
    )
    kept_sha256 = sha256_of(kept.content)
    await store_of(db).put(db, sha256=kept_sha256, content=kept.content)
    receipt = Receipt(
        purchase_id=purchase.id,
        content_type=kept.content_type,
        size=len(kept.content),
        sha256=digest,
        duplicate_of=earlier.id if earlier is not None and earlier.purchase_id != purchase.id else None,
        content_sha256=kept_sha256,
        uploaded_by=who.person_id,
        uploaded_at=now,
    )
    db.add(receipt)
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="receipt.attached",
        subject_type="purchase",
        subject_id=purchase.id,
        now=now,
        details={"receipt_id": receipt.id, "sha256": digest, "duplicate_of": receipt.duplicate_of},
    )
    return receipt


@dataclass(frozen=True, slots=True)
class ReceiptSeen:
    """A receipt as ``who`` is told of it: ``duplicate_of`` only when ``who`` may see that receipt's purchase."""

    id: int
    purchase_id: int
    content_type: str
    size: int
    sha256: str
    duplicate_of: int | None
    uploaded_at: datetime


async def as_seen_by(db: AsyncSession, *, who: Principal, receipts: list[Receipt]) -> list[ReceiptSeen]:
    """``receipts`` as ``who`` may read them (see the module's note on duplicates)."""
    earlier_ids = {r.duplicate_of for r in receipts if r.duplicate_of is not None}
    visible: set[int] = set()
    if earlier_ids:
        rows = await db.execute(
            select(Receipt.id)
            .join(Purchase, Purchase.id == Receipt.purchase_id)
            .where(Receipt.id.in_(earlier_ids), visible_purchases(who))
        )
        visible = set(rows.scalars())
    return [
        ReceiptSeen(
            id=r.id,
            purchase_id=r.purchase_id,
            content_type=r.content_type,
            size=r.size,
            sha256=r.sha256,
            duplicate_of=r.duplicate_of if r.duplicate_of in visible else None,
            uploaded_at=r.uploaded_at,
        )
        for r in receipts
    ]


async def list_receipts(db: AsyncSession, *, who: Principal, purchase_id: int) -> list[Receipt]:
    await get_purchase(db, who=who, purchase_id=purchase_id)
    rows = await db.execute(select(Receipt).where(Receipt.purchase_id == purchase_id).order_by(Receipt.id))
    return list(rows.scalars())


async def get_receipt(db: AsyncSession, *, who: Principal, receipt_id: int) -> Receipt:
    receipt = await db.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}")
    await get_purchase(db, who=who, purchase_id=receipt.purchase_id)  # NotFound unless visible
    return receipt


async def open_receipt(db: AsyncSession, *, who: Principal, receipt_id: int) -> tuple[Receipt, bytes]:
    """A receipt and its file, for those who may see its purchase; the file is checked against its
    fingerprint (``ReceiptDamaged``) and is gone once erased (``ReceiptErased``)."""
    receipt = await get_receipt(db, who=who, receipt_id=receipt_id)
    return receipt, await receipt_content(db, receipt)


async def receipt_content(db: AsyncSession, receipt: Receipt) -> bytes:
    """The file of a receipt already shown to be visible, from the receipt store, checked."""
    if receipt.erased_at is not None:
        raise ReceiptErased("the receipt's file was erased under the retention schedule")
    return await read_checked(db, sha256=receipt.content_sha256)
