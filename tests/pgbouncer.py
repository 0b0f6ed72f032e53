"""A real PgBouncer (Debian's ``pgbouncer``) in transaction mode in front of the test server.

The ``pgbouncer`` fixture starts one on a free port for the run: ``pool_mode = transaction``,
any database name passed on to the test server, two server connections per database and user
handed out in turn (``server_round_robin``), so a client's consecutive transactions run on
different server connections and share them with other clients (what breaks session state and
cached prepared statements: the app tests here fail without ``TIDE_DB_TRANSACTION_POOLER``).
``make test`` installs the package when it is missing. Without the binary the marked tests
skip, except under ``CI=true``, where they fail.

Tests that run the app through it leave their own set-up and checks on the direct URL and
route only the app's settings through the pooler (``route_apps_through``, ``app_database``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.databases import POSTGRES_ADMIN_URL

BINARIES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


@dataclass(frozen=True, slots=True)
class PgBouncer:
    """A running PgBouncer: where it listens."""

    host: str
    port: int

    def url_for(self, url: str) -> str:
        """``url`` (a database on the test server) through this PgBouncer."""
        return make_url(url).set(host=self.host, port=self.port).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, port: int) -> Path:
    server = make_url(POSTGRES_ADMIN_URL)
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={server.host or '127.0.0.1'} port={server.port or 5432} user={server.username or 'postgres'}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        "default_pool_size = 2\nmin_pool_size = 2\nserver_round_robin = 1\n"
        "max_client_conn = 500\nmax_db_connections = 20\n"
        f"logfile = {folder / 'pgbouncer.log'}\n",
        encoding="utf-8",
    )
    return ini


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {_tail(log)}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on {port} within 10 s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8")[-500:] if log.exists() else "(no log)"


def started() -> Generator[PgBouncer, None, None]:
    """Start PgBouncer for as long as the generator lasts (a fixture's body)."""
    binary = next((path for path in BINARIES if os.access(path, os.X_OK)), None) or shutil.which("pgbouncer")
    if binary is None:
        raise FileNotFoundError("pgbouncer is not installed (make test installs Debian's package)")
    folder = Path(tempfile.mkdtemp(prefix="tide-pgbouncer-"))
    folder.chmod(0o755)  # PgBouncer refuses to run as root: it runs as nobody and reads its ini here
    port = free_port()
    ini = _config(folder, port)
    command = [binary, str(ini)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
        (folder / "pgbouncer.log").touch()
        (folder / "pgbouncer.log").chmod(0o666)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our own ini
    try:
        _wait_until_listening(port, process, folder / "pgbouncer.log")
        yield PgBouncer(host="127.0.0.1", port=port)
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def pgbouncer_fixture(*, in_ci: bool) -> Iterator[PgBouncer]:
    """The session's PgBouncer; when it cannot start the tests skip, or fail under CI."""
    try:
        yield from started()
    except (FileNotFoundError, RuntimeError, OSError) as exc:
        if in_ci:
            pytest.fail(f"CI requires PgBouncer: {exc}", pytrace=False)
        pytest.skip(f"PgBouncer cannot start: {exc}")


_ROUTE: list[PgBouncer] = []


def route_apps_through(bouncer: PgBouncer | None) -> None:
    """From now on the apps the tests build reach their database through ``bouncer`` (``None``: direct)."""
    _ROUTE.clear()
    if bouncer is not None:
        _ROUTE.append(bouncer)


def app_database(url: str) -> tuple[str, bool]:
    """The URL an app built now uses for ``url``, and whether that goes through a transaction pooler."""
    if _ROUTE and url.startswith("postgresql"):
        return _ROUTE[0].url_for(url), True
    return url, False
