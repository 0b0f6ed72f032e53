"""PostgreSQL's plans in the bounded-work tests: the statements an engine sent while a job or a
report ran (to be run again under ``EXPLAIN ANALYZE``), and every step of a plan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements_sent(engine: Engine, kinds: tuple[str, ...]) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their parameters) ``engine`` sent inside the block, of the kinds
    named by their first word (``SELECT``, ``WITH``, ``UPDATE``, ...)."""
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(kinds):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def plan_steps(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """A plan's node and every node under it."""
    return [plan, *(step for child in plan.get("Plans", []) for step in plan_steps(child))]
