"""Where receipts' bytes are kept: one interface, a backend chosen by setting.

A receipt's row (``receipts``) keeps what it is (content type, size, the upload's SHA-256 for
duplicates, ``content_sha256`` of the bytes kept); the bytes live in a :class:`ReceiptStore`,
keyed by ``content_sha256``, so the main tables carry no file. Three backends:

- :class:`DatabaseStore` (the default): the table ``receipt_contents``, in the same
  transaction as the receipt's row;
- :class:`DirectoryStore`: one file a receipt under a directory (``ab/abcdef…``), written to a
  temporary name and renamed, so a reader never sees half a file;
- an S3-compatible object store (``api.object_store``: the library that speaks S3 is an edge's).

Invariants: the key is the SHA-256 of the bytes, so writing twice is harmless and a file left
by a rolled-back transaction is only an orphan, never a wrong answer; reading checks the
bytes against the key (:func:`read_checked`), so a damaged or swapped file is refused, not
served. The store is carried by the session (``session.info["receipt_store"]``, set where the
session maker is built), so a use case asks :func:`store_of` and never reads a setting.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.errors import ReceiptDamaged
from wallet.keeping_models import ReceiptContent

#: The key under which a session carries its receipt store.
STORE_KEY = "receipt_store"


class ReceiptStore(Protocol):
    """Bytes by their SHA-256. ``db`` is the use case's session (the database store writes in it)."""

    async def put(self, db: AsyncSession, *, sha256: str, content: bytes) -> None: ...

    async def get(self, db: AsyncSession, *, sha256: str) -> bytes | None: ...

    async def delete(self, db: AsyncSession, *, sha256: str) -> None: ...


class DatabaseStore:
    """The bytes in ``receipt_contents``, one row a distinct file, in the caller's transaction."""

    async def put(self, db: AsyncSession, *, sha256: str, content: bytes) -> None:
        if await db.get(ReceiptContent, sha256) is None:
            db.add(ReceiptContent(sha256=sha256, content=content))
            await db.flush()

    async def get(self, db: AsyncSession, *, sha256: str) -> bytes | None:
        row = await db.execute(select(ReceiptContent.content).where(ReceiptContent.sha256 == sha256))
        return row.scalar_one_or_none()

    async def delete(self, db: AsyncSession, *, sha256: str) -> None:
        await db.execute(delete(ReceiptContent).where(ReceiptContent.sha256 == sha256))


class DirectoryStore:
    """The bytes as files under ``root`` (which must exist and be writable by the app only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("a receipt's key is a SHA-256 in hex")
        return self.root / sha256[:2] / sha256

    async def put(self, db: AsyncSession, *, sha256: str, content: bytes) -> None:  # noqa: ARG002 - not in the database
        await asyncio.to_thread(self._write, sha256, content)

    async def get(self, db: AsyncSession, *, sha256: str) -> bytes | None:  # noqa: ARG002 - not in the database
        path = self.path_of(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, db: AsyncSession, *, sha256: str) -> None:  # noqa: ARG002 - not in the database
        await asyncio.to_thread(self.path_of(sha256).unlink, missing_ok=True)

    def _write(self, sha256: str, content: bytes) -> None:
        target = self.path_of(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            Path(temporary).replace(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def store_of(db: AsyncSession) -> ReceiptStore:
    """The receipt store this session was made with (the database, unless the edge chose another)."""
    store = db.info.get(STORE_KEY)
    return store if store is not None else DatabaseStore()


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def read_checked(db: AsyncSession, *, sha256: str) -> bytes:
    """The bytes kept under ``sha256``, refused unless they still hash to it."""
    content = await store_of(db).get(db, sha256=sha256)
    if content is None:
        raise ReceiptDamaged("the receipt's file is missing from the receipt store")
    if sha256_of(content) != sha256:
        raise ReceiptDamaged("the receipt's file no longer matches its fingerprint")
    return content
