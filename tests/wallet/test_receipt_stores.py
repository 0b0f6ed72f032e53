"""Receipt stores: the same behaviour from the database table, a directory and an S3-compatible
object store (moto's server, on loopback); what is read is checked against its SHA-256; the
main tables carry no file; migration 0016 moves the files already kept out of ``receipts``."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer
from sqlalchemy import LargeBinary

from api.app import create_app
from api.object_store import S3Store
from api.receipt_storage import store_from
from api.schema import metadata
from api.settings import Settings, SettingsError
from tests import databases, receipt_files
from tests.wallet.conftest import settings_for
from tests.wallet.support import County, purchase_body
from wallet.errors import ReceiptDamaged
from wallet.receipt_store import DatabaseStore, DirectoryStore, ReceiptStore, read_checked, sha256_of

PDF = receipt_files.pdf()
ACCESS = {"receipt_s3_access_key_id": "testing", "receipt_s3_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port, for this module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def with_receipts(url: str, **changes: Any) -> Settings:
    """The wallet tests' settings with the receipt store's settings changed (and validated)."""
    return Settings(**{**settings_for(url).model_dump(), **changes})


def s3_settings(url: str, endpoint: str, bucket: str) -> Settings:
    return with_receipts(url, receipt_store="s3", receipt_s3_endpoint=endpoint, receipt_s3_bucket=bucket, **ACCESS)


def new_bucket(endpoint: str, name: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's
    )
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})


@pytest.fixture(params=["database", "directory", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, county_url: str, s3_endpoint: str
) -> AsyncIterator[ReceiptStore]:
    if request.param == "database":
        yield DatabaseStore()
    elif request.param == "directory":
        yield DirectoryStore(tmp_path / "receipts")
    else:
        bucket = f"receipts-{tmp_path.name[-8:].lower().replace('_', '-')}-{len(str(tmp_path))}"
        new_bucket(s3_endpoint, bucket)
        yield S3Store.from_settings(s3_settings(county_url, s3_endpoint, bucket))


async def test_each_store_gives_back_what_it_was_given_by_its_hash_and_forgets_it_when_told(
    county: County, store: ReceiptStore
) -> None:
    content = PDF + b"%" + str(id(store)).encode()
    key = sha256_of(content)
    async with county.session() as db:
        db.info["receipt_store"] = store
        assert await store.get(db, sha256=key) is None
        await store.put(db, sha256=key, content=content)
        await store.put(db, sha256=key, content=content)  # twice is harmless
        assert await store.get(db, sha256=key) == content
        assert await read_checked(db, sha256=key) == content
        await store.delete(db, sha256=key)
        assert await store.get(db, sha256=key) is None


async def test_a_file_that_no_longer_matches_its_hash_is_refused(tmp_path: Path, county: County) -> None:
    store = DirectoryStore(tmp_path)
    key = sha256_of(PDF)
    async with county.session() as db:
        db.info["receipt_store"] = store
        await store.put(db, sha256=key, content=PDF)
        assert await read_checked(db, sha256=key) == PDF
        store.path_of(key).write_bytes(PDF + b"tampered")
        with pytest.raises(ReceiptDamaged):
            await read_checked(db, sha256=key)
        store.path_of(key).unlink()
        with pytest.raises(ReceiptDamaged):
            await read_checked(db, sha256=key)


def test_the_main_tables_carry_no_receipt_file() -> None:
    binary = {
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    }
    assert "receipt_contents.content" in binary
    assert not any(name.startswith("receipts.") for name in binary)


def test_a_store_named_without_where_it_is_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="TIDE_RECEIPT_DIRECTORY"):
        with_receipts("sqlite+aiosqlite:///x.db", receipt_store="directory")
    with pytest.raises(ValueError, match="TIDE_RECEIPT_S3_BUCKET"):
        with_receipts("sqlite+aiosqlite:///x.db", receipt_store="s3", receipt_s3_bucket="b")


def test_the_environment_naming_a_directory_store_without_its_directory_stops_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIDE_RECEIPT_STORE", "directory")
    monkeypatch.delenv("TIDE_RECEIPT_DIRECTORY", raising=False)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert str(refused.value) == "TIDE_RECEIPT_DIRECTORY must name a directory when TIDE_RECEIPT_STORE is directory"


def test_the_setting_chooses_the_store(tmp_path: Path) -> None:
    base = settings_for("sqlite+aiosqlite:///x.db")
    assert isinstance(store_from(base), DatabaseStore)
    directory = store_from(with_receipts(base.database_url, receipt_store="directory", receipt_directory=str(tmp_path)))
    assert isinstance(directory, DirectoryStore)
    assert directory.root == tmp_path
    s3 = store_from(s3_settings("sqlite+aiosqlite:///x.db", "http://127.0.0.1:1", "b"))
    assert isinstance(s3, S3Store)
    assert s3.bucket == "b"


async def _attach_and_fetch(client: AsyncTestClient[Any], county: County) -> tuple[Any, Any, dict[str, str]]:
    worker = await county.new_key_worker()
    me = await county.bearer(worker)
    case = await county.open_family(worker)
    made = await client.post("/api/v1/purchases", json=purchase_body(case, 2_500), headers=me.with_key())
    assert made.status_code == 201, made.text
    purchase_id = made.json()["purchase"]["id"]
    attached = await client.post(
        f"/api/v1/purchases/{purchase_id}/receipts",
        files={"data": ("r.pdf", PDF, "application/pdf")},
        headers=me.headers,
    )
    assert attached.status_code == 201, attached.text
    served = await client.get(f"/api/v1/receipts/{attached.json()['id']}", headers=me.headers)
    return attached.json(), served, me.headers


async def test_receipts_kept_in_a_directory_are_served_checked_and_refused_once_damaged(
    county: County, county_url: str, tmp_path: Path
) -> None:
    settings = with_receipts(county_url, receipt_store="directory", receipt_directory=str(tmp_path))
    async with AsyncTestClient(app=create_app(settings)) as client:
        receipt, served, headers = await _attach_and_fetch(client, county)
        assert served.content == PDF
        kept = tmp_path / sha256_of(PDF)[:2] / sha256_of(PDF)
        assert kept.read_bytes() == PDF

        kept.write_bytes(b"%PDF-1.7 something else")
        damaged = await client.get(f"/api/v1/receipts/{receipt['id']}", headers=headers)

    assert damaged.status_code == 500
    assert damaged.json()["type"].endswith("receipt-damaged")
    assert b"something else" not in damaged.content


async def test_receipts_kept_in_an_s3_compatible_store_go_there_and_come_back(
    county: County, county_url: str, s3_endpoint: str
) -> None:
    bucket = f"tide-{hashlib.sha256(county_url.encode()).hexdigest()[:12]}"
    new_bucket(s3_endpoint, bucket)
    async with AsyncTestClient(app=create_app(s3_settings(county_url, s3_endpoint, bucket))) as client:
        _, served, _ = await _attach_and_fetch(client, county)

    assert served.content == PDF
    objects = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's
    ).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in objects["Contents"]] == [f"receipts/{sha256_of(PDF)}"]


def test_the_migration_moves_the_files_already_kept_out_of_receipts_and_back(tmp_path: Path) -> None:
    url = databases.sqlite_url(tmp_path)
    databases.migrate(url, "0015")
    path = str(tmp_path / "tide.db")
    with sqlite3.connect(path) as raw:  # foreign keys off: a person and a purchase to point at are enough
        raw.execute(
            "INSERT INTO people (id, email, display_name, password_hash, active, created_at)"
            " VALUES (1, 'a@example.org', 'A', 'x', 1, '2026-01-01 00:00:00')"
        )
        raw.execute(
            "INSERT INTO purchases (id, wallet_id, team_id, worker_id, funding_source_id, category, description,"
            " supplier, amount, vat_evidence, payment_method, status, policy_decision, policy_reasons,"
            " receipt_required, captured_amount, refunded_amount, created_at, updated_at) VALUES (1, 1, 1, 1, 1,"
            " 'food', 'd', 's', 100, 'none', 'card', 'held', 'allow', '[]', 0, 0, 0,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        for receipt_id, content in ((1, PDF), (2, PDF), (3, b"\x89PNG other")):
            raw.execute(
                "INSERT INTO receipts (id, purchase_id, content_type, size, sha256, content, uploaded_by, uploaded_at)"
                " VALUES (?, 1, 'application/pdf', ?, ?, ?, 1, '2026-01-01 00:00:00')",
                (receipt_id, len(content), hashlib.sha256(content).hexdigest(), content),
            )

    databases.migrate(url, "0016")  # this step only: later ones rebuild tables with these rows' keys checked

    with sqlite3.connect(path) as raw:
        kept = dict(raw.execute("SELECT sha256, content FROM receipt_contents").fetchall())
        keys = dict(raw.execute("SELECT id, content_sha256 FROM receipts").fetchall())
        columns = {row[1] for row in raw.execute("PRAGMA table_info(receipts)")}
    assert kept == {sha256_of(PDF): PDF, sha256_of(b"\x89PNG other"): b"\x89PNG other"}
    assert keys == {1: sha256_of(PDF), 2: sha256_of(PDF), 3: sha256_of(b"\x89PNG other")}
    assert "content" not in columns

    databases.downgrade(url, "0015")

    with sqlite3.connect(path) as raw:
        back = dict(raw.execute("SELECT id, content FROM receipts").fetchall())
    assert back == {1: PDF, 2: PDF, 3: b"\x89PNG other"}
