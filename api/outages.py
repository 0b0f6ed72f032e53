"""When the database cannot be reached: told apart from a fault of ours, answered 503, logged.

``database_unreachable`` reads an exception (and what caused it) the way an operator would:
a refused or dropped connection, a database that does not exist or is shutting down, too
many connections, a pool with no connection to give, a SQLite file that cannot be opened or
is locked. Such a request is answered ``503`` with ``Retry-After`` (the API as problem+json,
the pages as the error page) and logged once as a warning; anything else unexpected is a 500.
The card till declines with the reason ``database_unavailable`` instead (``api.routes.cards``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from sqlalchemy import exc as sa

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 10
#: SQLSTATE classes and codes that mean the server is not there for us: connection exceptions
#: (08), operator intervention (57P: shutdown, cannot connect now, database dropped), too many
#: connections (53300), no such database (3D000), authentication refused (28).
UNAVAILABLE_SQLSTATES = ("08", "57P", "53300", "3D000", "28")
#: Where an ``OSError`` must come from to be the database's: its drivers and SQLAlchemy.
DRIVER_PATHS = ("/asyncpg/", "/sqlalchemy/", "/aiosqlite/", "/sqlite3/")
UNAVAILABLE = (503, "database-unavailable", "The database cannot be reached just now")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend([current.__cause__, current.__context__, orig if isinstance(orig, BaseException) else None])


def _from_driver(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        if any(path in traceback.tb_frame.f_code.co_filename for path in DRIVER_PATHS):
            return True
        traceback = traceback.tb_next
    return False


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.TimeoutError | sa.DisconnectionError):
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    return isinstance(exc, OSError) and _from_driver(exc.__traceback__)


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not be reached or used, not a fault of ours."""
    return any(_unreachable(link) for link in _chain(exc))
