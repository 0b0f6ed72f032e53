"""One way to fail, and to see it: an unexpected error is a 500 carrying the request's id,
logged once with its traceback; access lines are JSON with the route's template and no personal
data; procrastinate's chatter is DEBUG; metrics are in Prometheus' format behind a token.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from api.app import create_app
from api.logs import json_handler
from api.settings import Settings
from tests.api.conftest import sign_in
from tests.cards.support import request_event, signed

METRICS_TOKEN = "metrics-scraper-secret"  # noqa: S105 - a test secret
SECRET = "whsec_seeing_failures"  # noqa: S105 - a test secret


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        environment="test",
        db_pool_size=3,
        jobs_in_process=False,
        metrics_token=SecretStr(METRICS_TOKEN),
        stripe_authorization_secret=SecretStr(SECRET),
    )


@pytest.fixture
async def app_client(county_sqlite: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(_settings(county_sqlite))) as client:
        yield client


def _boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("an unexpected fault, 'Jane Doe' in its message")


async def test_an_unexpected_error_is_a_500_problem_with_the_request_id_logged_once_with_its_traceback(
    app_client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await sign_in(app_client, "kw.exeter.01")
    monkeypatch.setattr("api.routes.auth.tokens_of", _boom)
    caplog.set_level(logging.INFO)

    response = await app_client.get("/api/v1/me/tokens", headers={"x-request-id": "probe-500.1"})

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:tide:problem:internal-error"
    assert response.json()["request_id"] == "probe-500.1" == response.headers["x-request-id"]
    assert "Jane Doe" not in response.text
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert getattr(failures[0], "request_id", None) == "probe-500.1"


async def test_an_unexpected_error_on_a_page_is_the_error_page_with_a_reference(
    app_client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await sign_in(app_client, "kw.exeter.01")
    monkeypatch.setattr("wallet.access.load_principal", _boom)
    monkeypatch.setattr("api.web.session.load_principal", _boom)
    caplog.set_level(logging.INFO)

    response = await app_client.get("/", headers={"x-request-id": "probe-page-500"})

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "probe-page-500" in response.text
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


@pytest.mark.parametrize("sent", ["x" * 65, "has space", "a/b", "<script>", ""])
async def test_an_unusable_request_id_is_replaced_with_a_fresh_one(app_client: AsyncTestClient[Any], sent: str) -> None:
    response = await app_client.get("/health", headers={"x-request-id": sent})

    answered = response.headers["x-request-id"]
    assert answered != sent
    assert len(answered) == 32


async def test_each_request_is_one_json_access_line_with_its_route_template_and_who_asked(
    app_client: AsyncTestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    me = await sign_in(app_client, "kw.exeter.01")
    caplog.set_level(logging.INFO, logger="tide.access")

    await app_client.get("/api/v1/families/1?reference=SECRET-REF", headers={"x-request-id": "access-1"})

    lines = [r for r in caplog.records if r.name == "tide.access" and getattr(r, "request_id", "") == "access-1"]
    assert len(lines) == 1
    written = json.loads(json_handler(io.StringIO()).format(lines[0]))
    assert written["route"] == "/api/v1/families/{family_id}"
    assert written["person_id"] == me.person_id
    assert {"request_id", "status", "duration_ms", "method", "at", "level"} <= set(written)
    assert "SECRET-REF" not in json.dumps(written)


def test_procrastinate_chatter_is_written_only_when_debug_is_wanted() -> None:
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        for name, message in (("procrastinate.worker", "Waiting for new jobs"), ("tide.jobs", "a job ran")):
            record = logging.LogRecord(name, logging.INFO, __file__, 1, message, None, None)
            if handler.filter(record):
                handler.emit(record)
    finally:
        root.setLevel(level)

    written = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in written] == ["a job ran"]


async def test_metrics_need_the_token(app_client: AsyncTestClient[Any]) -> None:
    assert (await app_client.get("/metrics")).status_code == 404
    assert (await app_client.get("/metrics", headers={"authorization": "Bearer wrong"})).status_code == 404


async def test_metrics_are_off_without_a_token_set(county_sqlite: str) -> None:
    settings = _settings(county_sqlite).model_copy(update={"metrics_token": Settings().metrics_token})
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/metrics", headers={"authorization": "Bearer "})

    assert response.status_code == 404


async def test_metrics_show_latency_by_route_till_decisions_and_the_pool(app_client: AsyncTestClient[Any]) -> None:
    await app_client.get("/api/v1/families/12345")
    body, headers = signed(request_event("ic_nobody_metrics", 100), SECRET)
    await app_client.post("/stripe/issuing/authorization", content=body, headers=headers)

    response = await app_client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'route="/api/v1/families/{family_id}"' in text
    assert "12345" not in text
    assert 'tide_till_decisions_total{outcome="declined",reason="unknown_card"}' in text
    assert "tide_till_decision_seconds_bucket" in text
    assert 'tide_db_pool_connections{use="size"}' in text
    assert "tide_webhook_lag_seconds" in text
