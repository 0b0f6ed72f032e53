"""Logs: one JSON object a line, on standard error, from the standard library's ``logging``.

Each line has the moment, level, logger and message; an access line adds the request id,
route (its template, ``/api/v1/families/{family_id}``: never the ids or a query), method,
status, duration and the person's id. A failure adds its traceback, once. Nothing else is
added from a request: never a name, free text, a query string or a secret. procrastinate's
polling chatter ("waiting for jobs", every few seconds) is moved down to DEBUG.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

#: What an access line or a failure may carry beyond the message, and nothing else.
FIELDS = ("request_id", "route", "method", "status", "duration_ms", "person_id", "problem", "event")
#: Loggers whose INFO is routine chatter: shown at DEBUG.
CHATTY = ("procrastinate",)
_HANDLER_NAME = "tide-json"


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class QuieterInfo(logging.Filter):
    """Moves the chatty libraries' INFO records down to DEBUG (dropped unless DEBUG is wanted)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.split(".")[0] in CHATTY:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def json_handler(stream: Any = None) -> logging.Handler:
    """A handler writing JSON lines to ``stream`` (standard error), the chatter moved to DEBUG."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(QuieterInfo())
    return handler


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on standard error for Tide and every library (idempotent: once per process)."""
    root = logging.getLogger()
    if not any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # Tide writes its own access lines


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging, handed to Tide's: its own handlers off, its records to the root logger."""
    return {"version": 1, "disable_existing_loggers": False}
