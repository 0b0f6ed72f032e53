"""``wallet councils add|list|migrate``, and a command for one council naming it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from tests import databases
from tests.councils.conftest import KEYS

pytestmark = pytest.mark.postgresql


@pytest.fixture
def own_registry(registry: Path, tmp_path: Path) -> Path:
    """A copy of the three councils' registry, for a test that adds to it."""
    return Path(shutil.copy(registry, tmp_path / "councils.json"))


@pytest.fixture
def new_database() -> Iterator[str]:
    url = databases.create_postgres_database(prefix="tide_council_dale")
    try:
        yield url
    finally:
        databases.drop_postgres_database(url)


def wallet(registry: Path, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"TIDE_COUNCILS_FILE": str(registry), "TIDE_ENV": "test"})


def test_add_list_and_migrate_every_council(own_registry: Path, new_database: str) -> None:
    listed = wallet(own_registry, "councils", "list")
    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[0] for line in listed.output.splitlines()] == list(KEYS)

    added = wallet(
        own_registry, "councils", "add", "dale", "--host", "dale.tide.test", "--database-url", new_database,
        "--set", "council_name=Dale Council",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "dale: database at head." in added.output
    assert wallet(own_registry, "--council", "dale", "ledger", "verify").exit_code == 0

    migrated = wallet(own_registry, "councils", "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert migrated.output.splitlines() == [f"{key}: database at head." for key in (*KEYS, "dale")]


def test_a_council_with_a_password_in_its_url_is_not_added(own_registry: Path) -> None:
    before = own_registry.read_text(encoding="utf-8")
    refused = wallet(
        own_registry, "councils", "add", "evil", "--host", "evil.tide.test",
        "--database-url", "postgresql+asyncpg://tide:hunter2@127.0.0.1/evil",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "holds a password" in refused.output
    assert "hunter2" not in refused.output
    assert own_registry.read_text(encoding="utf-8") == before


def test_a_command_for_one_council_names_it_and_jobs_run_for_each(registry: Path) -> None:
    unnamed = wallet(registry, "ledger", "verify")
    assert unnamed.exit_code == 1
    assert "name the council with --council (one of avon, bury, cork)" in unnamed.output
    named = wallet(registry, "--council", "bury", "ledger", "verify")
    assert named.exit_code == 0, named.output
    assert "every invariant holds" in named.output
    every = wallet(registry, "run-job", "escalate_approvals")
    assert every.exit_code == 0, every.output
    assert [line.split(" ")[1] for line in every.output.splitlines()] == [f"[{key}]:" for key in KEYS]
