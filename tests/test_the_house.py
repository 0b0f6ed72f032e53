"""The house rules that a reader can check without running anything.

- Handlers translate, never query: no JSON route (``api/routes``) or page (``api/web/pages``)
  talks to the database itself; each calls a use case or a read in the packages below.
- Size: no module over 400 lines and no function over 60 outside migrations and tests. The
  few that are still over are listed in ``STILL_TOO_LONG`` with their size today: the list may
  only shrink (a listed one that grows, or that is now short enough and still listed, fails).

The import direction (``api → reports → approvals → wallet → ledger``) is held by
import-linter's contracts in ``make lint``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "wallet", "ledger", "approvals", "reports", "cards")
HANDLER_FOLDERS = (ROOT / "api" / "routes", ROOT / "api" / "web" / "pages")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

#: What a session or connection does with the database: a handler calling any of these on
#: anything is querying.
DATABASE_CALLS = frozenset(
    {"execute", "scalar", "scalars", "get", "add", "add_all", "flush", "delete", "merge", "refresh", "stream"}
)
DATABASE_OBJECTS = frozenset({"db", "session", "connection", "conn"})
#: From SQLAlchemy a handler may name the session's type, nothing that builds a statement.
ALLOWED_SQLALCHEMY = {"sqlalchemy.ext.asyncio": {"AsyncSession", "AsyncEngine", "async_sessionmaker"}}

#: Debts to pay: each over-long module or function and its length today. Shrink, never grow.
STILL_TOO_LONG: dict[str, int] = {}


def _modules(folders: tuple[Path, ...]) -> Iterator[Path]:
    for folder in folders:
        if folder.exists():
            yield from sorted(folder.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def database_use(source: str) -> list[str]:
    """Where a module's code talks to the database or builds a statement: ``line: what``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            extra = {a.name for a in node.names} - ALLOWED_SQLALCHEMY.get(node.module, set())
            if extra:
                found.append(f"{node.lineno}: imports {', '.join(sorted(extra))} from {node.module}")
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            found.append(f"{node.lineno}: imports sqlalchemy")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DATABASE_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in DATABASE_OBJECTS
        ):
            found.append(f"{node.lineno}: {node.func.value.id}.{node.func.attr}(…)")
    return found


def sizes(path: Path) -> dict[str, int]:
    """The module's length, and each function's, keyed as in ``STILL_TOO_LONG``."""
    source = path.read_text()
    found = {_name(path): len(source.splitlines())}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            found[f"{_name(path)}:{node.name}"] = node.end_lineno - node.lineno + 1
    return found


@pytest.mark.parametrize("path", list(_modules(HANDLER_FOLDERS)), ids=_name)
def test_a_handler_never_queries_the_database(path: Path) -> None:
    assert database_use(path.read_text()) == [], f"{_name(path)} queries; call a use case or a read instead"


def test_the_query_check_sees_queries_in_every_form() -> None:
    handler = """
from sqlalchemy import select
import sqlalchemy
from sqlalchemy.ext.asyncio import AsyncSession
async def page(db: AsyncSession) -> None:
    await db.execute(select(1))
    await db.get(object, 1)
    db.add(object())
"""
    assert sorted(int(f.split(":")[0]) for f in database_use(handler)) == [2, 3, 6, 7, 8]
    assert database_use("from sqlalchemy.ext.asyncio import AsyncSession\nx = thing.get(1)\n") == []


def test_no_module_or_function_is_longer_than_a_reader_can_hold() -> None:
    measured: dict[str, int] = {}
    for path in _modules(tuple(ROOT / p for p in PACKAGES)):
        measured.update(sizes(path))
    limit = {key: MAX_FUNCTION_LINES if ":" in key else MAX_MODULE_LINES for key in measured}
    too_long = {key: n for key, n in measured.items() if n > limit[key]}
    new = {key: n for key, n in too_long.items() if key not in STILL_TOO_LONG}
    grown = {key: n for key, n in too_long.items() if key in STILL_TOO_LONG and n > STILL_TOO_LONG[key]}
    paid = sorted(key for key in STILL_TOO_LONG if key not in too_long)
    assert new == {}, f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function: split them"
    assert grown == {}, "a listed debt grew: split it instead"
    assert paid == [], "these are short enough now: take them off STILL_TOO_LONG"
