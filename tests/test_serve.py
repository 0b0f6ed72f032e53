"""``wallet serve --workers 2`` as operators run it: no child is killed under load (uvicorn's
five-second healthcheck killed children that were importing or busy), and SIGTERM lets a
request already in flight finish before the process stops."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.cli import server_options
from api.settings import Settings
from tests.pgbouncer import free_port

pytestmark = pytest.mark.postgresql

WALLET = Path(sys.executable).parent / "wallet"


def test_serves_children_get_the_healthcheck_and_shutdown_time_the_settings_give() -> None:
    options = server_options(Settings(environment="test", serve_healthcheck_seconds=90, serve_shutdown_seconds=20))
    assert (options["timeout_worker_healthcheck"], options["timeout_graceful_shutdown"]) == (90, 20)
    defaults = server_options(Settings(environment="test"))
    assert defaults["timeout_worker_healthcheck"] > 5  # uvicorn's own five seconds killed children under load


def _children(pid: int) -> set[int]:
    """The web processes ``pid`` started (not multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return {child for child in found if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()}


@pytest.fixture(scope="module")
def served(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``wallet serve --workers 2`` on PostgreSQL, its output in ``serve.log``; one for the module
    (a child's start-up takes its minute on a busy machine: the healthcheck allows it two)."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "TIDE_ENV": "test",
        "TIDE_JOBS_IN_PROCESS": "false",
        "TIDE_SERVE_HEALTHCHECK_SECONDS": "120",
    }
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - Tide's own command
            [str(WALLET), "serve", "--workers", "2", "--port", str(port)], env=environment, stdout=log, stderr=log
        )
    children: set[int] = set()
    try:
        _wait_until_healthy(port, seconds=240)
        children = _children(process.pid)
        yield Served(process, port, folder / "serve.log", children)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(60)
        for child in children:  # none should be left; a test that failed half-way may leave one
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def _wait_until_healthy(port: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"wallet serve did not answer /health within {seconds} s")


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    children: set[int]


def _load(port: int, seconds: float) -> list[int]:
    statuses: list[int] = []

    def hammer() -> None:
        with httpx.Client(timeout=30) as client:
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                statuses.append(client.get(f"http://127.0.0.1:{port}/health").status_code)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.slow
def test_two_children_under_load_both_survive(served: Served) -> None:
    statuses = _load(served.port, seconds=6)
    time.sleep(1)

    assert len(served.children) == 2
    assert _children(served.process.pid) == served.children
    assert statuses
    assert set(statuses) == {200}
    assert b"died" not in served.log.read_bytes()


@pytest.mark.slow
def test_sigterm_lets_a_request_in_flight_finish(served: Served) -> None:
    process, port = served.process, served.port
    body = b'{"email": "nobody@example.org", "password": "not the password"}'
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            b"POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.5)  # the request is in flight: its body half sent
        process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        connection.sendall(body[10:])
        answer = connection.recv(65536)

    assert answer.startswith(b"HTTP/1.1 "), answer
    assert answer.split(b" ", 2)[1] in {b"401", b"400", b"422"}
    assert process.wait(30) == 0
