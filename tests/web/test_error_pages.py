"""Pages and the JSON API answer a domain error from one table (``api.errors.PROBLEMS``): the
same status, title and detail, as problem+json to the API's clients and as the error page to
people. Each error is raised by a route under the pages' handlers and by one under the API's."""

from __future__ import annotations

import html
import inspect
import logging
import re

import pytest
from litestar import Litestar, Router, post
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from api.errors import PROBLEM_JSON, PROBLEMS, exception_handlers
from api.web.plugin import WEB_EXCEPTION_HANDLERS
from wallet.errors import NotSignedIn

DETAIL = "the wallet is suspended until its receipts are reviewed"
ERRORS: list[type[Exception]] = [*PROBLEMS, RuntimeError]


def _raised(cls: type[Exception]) -> Exception:
    """An instance of ``cls`` with ``DETAIL`` as its message (and empty required keywords)."""
    params = inspect.signature(cls.__init__).parameters.values()
    extra: dict[str, list[str]] = {p.name: [] for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty}
    return cls(DETAIL, **extra)


@post("/api/raise/{index:int}")
async def api_raises(index: FromPath[int]) -> None:
    raise _raised(ERRORS[index])


@post("/raise/{index:int}")
async def page_raises(index: FromPath[int]) -> None:
    raise _raised(ERRORS[index])


@pytest.fixture(scope="module")
def app() -> Litestar:
    """The app's arrangement: the API's handlers on the app, the pages' on their router."""
    pages = Router(path="/pages", route_handlers=[page_raises], exception_handlers=WEB_EXCEPTION_HANDLERS)
    return Litestar(route_handlers=[api_raises, pages], exception_handlers=exception_handlers())


def _heading(page: str) -> str:
    found = re.search(r'<h1 class="heading-l">(.*?)</h1>', page)
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


@pytest.mark.parametrize("error", list(PROBLEMS), ids=lambda cls: cls.__name__)
async def test_a_page_and_the_api_answer_a_domain_error_with_the_same_status_title_and_detail(
    app: Litestar, error: type[Exception]
) -> None:
    status, slug, title = PROBLEMS[error]
    index = ERRORS.index(error)
    async with AsyncTestClient(app=app) as client:
        api = await client.post(f"/api/raise/{index}")
        page = await client.post(f"/pages/raise/{index}")

    assert api.status_code == page.status_code == status
    assert api.headers["content-type"] == PROBLEM_JSON
    assert api.json() == {"type": f"urn:tide:problem:{slug}", "title": title, "status": status, "detail": DETAIL}
    assert page.headers["content-type"].startswith("text/html")
    assert _heading(page.text) == title
    assert f'<p class="body">{html.escape(DETAIL[0].upper() + DETAIL[1:])}.</p>' in page.text


async def test_a_form_sent_signed_out_answers_the_apis_problem_and_says_to_sign_in_again(app: Litestar) -> None:
    async with AsyncTestClient(app=app) as client:
        page = await client.post(f"/pages/raise/{ERRORS.index(NotSignedIn)}")

    assert (page.status_code, _heading(page.text)) == (401, PROBLEMS[NotSignedIn][2])
    assert "Sign in again, then send the form again." in page.text


async def test_an_unexpected_error_is_logged_once_and_answered_with_the_sorry_page(
    app: Litestar, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncTestClient(app=app) as client:
        with caplog.at_level(logging.ERROR, logger="tide.failures"):
            page = await client.post(f"/pages/raise/{ERRORS.index(RuntimeError)}")

    assert page.status_code == 500
    assert _heading(page.text) == "Sorry, something went wrong"
    assert DETAIL not in page.text
    assert [r.exc_info[0] for r in caplog.records if r.name == "tide.failures" and r.exc_info] == [RuntimeError]
