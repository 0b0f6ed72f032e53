"""Single sign-on in a real browser: Chromium goes from Tide's sign-in page to the loopback
test identity provider and back, signed in as the person the provider names (matched by its
object id), then signs out. The app runs under uvicorn with single sign-on configured, on a
county of this module's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.settings import Settings
from ledger.database import create_engine
from tests import databases
from tests.api.conftest import SMALL_COUNTY
from tests.identity.idp import CLIENT_ID, CLIENT_SECRET, TENANT, TestProvider
from tests.web.conftest import CHROMIUM, PHONE, check_accessibility, free_port
from wallet.demo import email
from wallet.models import Person


async def _link(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            await db.execute(
                update(Person).where(Person.email == email("kw.exeter.01")).values(external_id="oid-web-1")
            )
            await db.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TestProvider]]:
    """The app with single sign-on pointed at the test provider, served on loopback."""
    import asyncio  # noqa: PLC0415 - only this fixture runs a loop of its own

    url = databases.seeded_sqlite(Path(tmp_path_factory.mktemp("sso-web")), SMALL_COUNTY)
    asyncio.run(_link(url))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = TestProvider(redirect_uri=f"{base}/sign-in/sso/callback").start()
    settings = Settings(
        database_url=url, environment="test", db_pool_size=5, jobs_in_process=False, base_url=base,
        oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=SecretStr(CLIENT_SECRET),
        oidc_tenant_id=TENANT,
    )  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield base, provider
    server.should_exit = True
    thread.join(timeout=20)
    provider.stop()


@pytest.fixture(scope="module")
def chromium(sso_site: tuple[str, TestProvider]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make test`, which installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_a_key_worker_signs_in_through_the_council_provider_and_out_again(
    sso_site: tuple[str, TestProvider], chromium: Any
) -> None:
    base, provider = sso_site
    provider.user = {"sub": "pairwise-web", "oid": "oid-web-1", "name": "Not The Name Tide Shows"}
    context = chromium.new_context(viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    try:
        page.goto(base + "/sign-in")
        check_accessibility(page, "sign-in-with-council-account")
        page.get_by_role("link", name="Sign in with your council account").click()
        page.wait_for_url(base + "/")
        assert "Signed in as" in page.content()
        assert "Not The Name Tide Shows" not in page.content()  # matched by object id; Tide's own name stays
        assert hosts == {base.split("/")[2], provider.issuer.split("/")[2]}  # Tide and the provider, nothing else

        page.get_by_role("button", name="Sign out", exact=True).first.click()
        page.wait_for_url(base + "/sign-in?signed_out=1")
        page.goto(base + "/")
        assert page.url.startswith(base + "/sign-in")
    finally:
        context.close()


def test_a_token_with_the_wrong_audience_leaves_the_browser_signed_out(
    sso_site: tuple[str, TestProvider], chromium: Any
) -> None:
    base, provider = sso_site
    provider.user = {"sub": "pairwise-web", "oid": "oid-web-1"}
    provider.audience = "another-app"
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(base + "/sign-in")
        page.get_by_role("link", name="Sign in with your council account").click()
        page.wait_for_load_state()
        assert "Signing in through your council failed" in page.content()
        page.goto(base + "/")
        assert page.url.startswith(base + "/sign-in")
    finally:
        provider.reset()
        context.close()
