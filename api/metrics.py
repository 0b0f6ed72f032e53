"""Metrics in Prometheus' text format on ``GET /metrics``, for the platform team to scrape.

The endpoint answers only a scraper that sends ``Authorization: Bearer <TIDE_METRICS_TOKEN>``
(404 when no token is set: the endpoint is off). What is measured: every request's latency by
method, route template and status; the till's decisions by outcome and reason, and how long
each took; how late Stripe's webhook events arrive; the job queue's jobs by state (failed
included), read from the database at each scrape; and the database pool's connections.

The counters and histograms live in the process that served the requests: with several
processes (``wallet serve --workers N``) each scrape sees one process's share. The queue and the
pool are read at the scrape, so they are whole.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.hosts import council_state
from api.jobs import jobs_by_state
from api.settings import Settings

REGISTRY = CollectorRegistry()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "tide_request_duration_seconds",
    "Time to answer a request, by method, route template and status",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
TILL_DECISIONS = Counter(
    "tide_till_decisions",
    "The card till's answers, by outcome and first reason",
    ("outcome", "reason"),
    registry=REGISTRY,
)
TILL_SECONDS = Histogram(
    "tide_till_decision_seconds",
    "Time to answer the card till, by outcome",
    ("outcome",),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
WEBHOOK_LAG_SECONDS = Histogram(
    "tide_webhook_lag_seconds",
    "From Stripe creating an event to Tide applying it",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
    registry=REGISTRY,
)
WEBHOOK_EVENTS = Counter("tide_webhook_events", "Stripe webhook events, by outcome", ("outcome",), registry=REGISTRY)
JOBS = Gauge("tide_jobs", "Jobs in the queue, by state (todo, doing, failed, …)", ("state",), registry=REGISTRY)
POOL = Gauge("tide_db_pool_connections", "The database pool's connections, by use", ("use",), registry=REGISTRY)


def _pool(engine: AsyncEngine) -> None:
    pool: Any = engine.pool
    for use, read in (("size", "size"), ("checked_out", "checkedout"), ("overflow", "overflow")):
        if callable(getattr(pool, read, None)):
            POOL.labels(use).set(getattr(pool, read)())


async def render(engine: AsyncEngine) -> bytes:
    """The metrics now: the pool and the queue read afresh, then everything in text format."""
    _pool(engine)
    for state, count in (await jobs_by_state(engine)).items():
        JOBS.labels(state).set(count)
    return generate_latest(REGISTRY)


def allowed(settings: Settings, authorization: str) -> bool:
    """Whether a scrape carries the metrics token (never, when none is set)."""
    token = settings.metrics_token.get_secret_value()
    sent = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    return bool(token) and secrets.compare_digest(sent.encode(), token.encode())


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = request.app.state
    if not allowed(state.settings, request.headers.get("authorization", "")):
        return Response(b"Not Found", status_code=404, media_type="text/plain")
    return Response(await render(council_state(request).engine), media_type=CONTENT_TYPE_LATEST)


def till_answered(*, approved: bool, reasons: list[str], seconds: float) -> None:
    """One answer to the card till: its outcome, its first reason and how long it took."""
    outcome = "approved" if approved else "declined"
    TILL_DECISIONS.labels(outcome, reasons[0] if reasons else "none").inc()
    TILL_SECONDS.labels(outcome).observe(seconds)


def webhook_applied(*, outcome: str, created: object, now: float) -> None:
    """One Stripe event handled (``outcome``: what applying it did, or ``failed``), and its lag."""
    WEBHOOK_EVENTS.labels(outcome).inc()
    if isinstance(created, int | float) and not isinstance(created, bool):
        WEBHOOK_LAG_SECONDS.observe(max(0.0, now - float(created)))
