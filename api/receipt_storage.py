"""Which receipt store this deployment keeps receipts' files in, from the settings.

The store is carried by every session the edge makes (``session.info``), so a use case
finds it with :func:`wallet.receipt_store.store_of` and never reads a setting.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.settings import Settings
from wallet.receipt_store import STORE_KEY, DatabaseStore, DirectoryStore, ReceiptStore


def store_from(settings: Settings) -> ReceiptStore:
    """The receipt store ``TIDE_RECEIPT_STORE`` names, configured."""
    if settings.receipt_store == "directory":
        return DirectoryStore(Path(settings.receipt_directory))
    if settings.receipt_store == "s3":
        from api.object_store import S3Store  # noqa: PLC0415 - the S3 client is loaded only when used

        return S3Store.from_settings(settings)
    return DatabaseStore()


def sessions_for(engine: AsyncEngine, settings: Settings) -> async_sessionmaker[AsyncSession]:
    """The session maker every edge uses: sessions that keep receipts in the configured store."""
    return async_sessionmaker(engine, expire_on_commit=False, info={STORE_KEY: store_from(settings)})
