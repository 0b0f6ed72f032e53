"""Receipts in an S3-compatible object store (AWS S3, MinIO, Ceph, a council's own): the only
module that imports boto3.

An object a receipt, named ``receipts/<sha256>`` in the bucket ``TIDE_RECEIPT_S3_BUCKET``. The
client is boto3's, whose calls block: each runs on a worker thread (``asyncio.to_thread``).
Writing is not part of the database's transaction; the name is the bytes' SHA-256, so a
retried upload rewrites the same object and a rolled-back one leaves only an orphan.
"""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy.ext.asyncio import AsyncSession

from api.settings import Settings

PREFIX = "receipts/"


class S3Store:
    """The receipt store over the S3 API."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        client = boto3.client(
            "s3",
            endpoint_url=settings.receipt_s3_endpoint or None,
            region_name=settings.receipt_s3_region,
            aws_access_key_id=settings.receipt_s3_access_key_id,
            aws_secret_access_key=settings.receipt_s3_secret_access_key.get_secret_value(),
            config=Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3}, s3={"addressing_style": "path"}
            ),
        )
        return cls(client, settings.receipt_s3_bucket)

    async def put(self, db: AsyncSession, *, sha256: str, content: bytes) -> None:  # noqa: ARG002 - not in the database
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=PREFIX + sha256,
            Body=content,
            ContentType="application/octet-stream",
        )

    async def get(self, db: AsyncSession, *, sha256: str) -> bytes | None:  # noqa: ARG002 - not in the database
        try:
            found = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=PREFIX + sha256)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        body = found["Body"]
        try:
            return bytes(await asyncio.to_thread(body.read))
        finally:
            body.close()

    async def delete(self, db: AsyncSession, *, sha256: str) -> None:  # noqa: ARG002 - not in the database
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=PREFIX + sha256)
