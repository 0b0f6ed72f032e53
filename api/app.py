"""The Litestar application: its routes, its database engine, its error mapping and lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.config_cli import settings_at_start_up
from api.councils import councils_of
from api.deps import CsrfFailed, provide_db, provide_now, provide_principal, provide_read_db
from api.engines import engine_for
from api.errors import CSRF_FAILED, exception_handlers, problem
from api.failures import unexpected_problem
from api.health import HEALTH_ROUTES, health
from api.hosts import provide_council, route_by_host, serve_councils
from api.jobs import run_jobs_in_process
from api.logs import configure_logging
from api.metrics import metrics
from api.observability import observed
from api.proxies import forwarded_client
from api.request_guard import guard_request
from api.routes.annual_report import AnnualReportController
from api.routes.approvals import (
    AllowanceController,
    ApprovalController,
    CoverController,
    NotificationController,
    PurchaseCompletionController,
    ReviewController,
)
from api.routes.auth import MeController, SignInController
from api.routes.buying_for import BuyingForController
from api.routes.card_holding import CardHoldingController
from api.routes.cards import ROUTES as CARD_ROUTES
from api.routes.contact import ROUTES as CONTACT_ROUTES
from api.routes.families import FamilyController, NeedController
from api.routes.finance_settings import FinanceSettingsController
from api.routes.grants import GrantController
from api.routes.organisation import (
    AllocationController,
    FundingController,
    PeopleController,
    TeamController,
    WalletController,
)
from api.routes.payments import ROUTES as PAYMENT_ROUTES
from api.routes.people_access import PeopleAccessController
from api.routes.policy import AuditController, CodesController, PolicyController
from api.routes.proposals import ProposalController
from api.routes.purchases import PurchaseController, ReceiptController
from api.routes.redaction import FreeTextCheckController, RedactionController
from api.routes.reports import PeriodController, ReportController
from api.routes.returns import WalletReturnController
from api.routes.scim import ScimController
from api.routes.subject_access import SubjectAccessController
from api.routes.worker_bank_accounts import WorkerBankAccountController
from api.settings import Settings
from api.web.plugin import WebPlugin
from wallet.clock import now_utc

MAX_BODY_BYTES = 11 * 1024 * 1024  # a 10 MB receipt and its multipart envelope

#: The JSON API's controllers (the pages are the web plugin's).
ROUTES = [
    SignInController,
    MeController,
    TeamController,
    PeopleController,
    *CONTACT_ROUTES,
    FundingController,
    WalletController,
    WalletReturnController,
    AllocationController,
    FamilyController,
    SubjectAccessController,
    NeedController,
    PurchaseController,
    ReceiptController,
    PolicyController,
    RedactionController,
    FinanceSettingsController,
    FreeTextCheckController,
    BuyingForController,
    GrantController,
    ProposalController,
    AuditController,
    CodesController,
    AnnualReportController,
    ReportController,
    PeriodController,
    ApprovalController,
    AllowanceController,
    CoverController,
    ReviewController,
    NotificationController,
    PurchaseCompletionController,
    *CARD_ROUTES,
    CardHoldingController,
    *PAYMENT_ROUTES,
    WorkerBankAccountController,
    ScimController,
    PeopleAccessController,
]

OPENAPI = OpenAPIConfig(
    title="Tide",
    version="0.1.0",
    path="/schema",
    description="The early help budget wallet: key workers buy support for families' needs within limits.",
    components=Components(
        security_schemes={
            "session": SecurityScheme(type="apiKey", name="tide_session", security_scheme_in="cookie"),
            "token": SecurityScheme(type="http", scheme="bearer"),
        }
    ),
    security=[{"session": []}, {"token": []}],
)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = now_utc) -> Litestar:
    """Build the app for ``settings`` (default: read from the environment now, once, and checked
    in full: a configuration that cannot work stops the process with exit status 2 and one line
    naming the setting, whichever server calls this factory); ``clock`` is injectable. What needs
    a setting is handed it here: the engine its URL, the Stripe endpoints and gateway their
    config, the reports the council's options."""
    settings = settings or settings_at_start_up()
    councils = councils_of(settings)
    engines = {council.key: engine_for(council.settings) for council in councils}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.hosts = serve_councils(app.state, settings, councils, engines, clock)
        if settings.environment == "production":
            # What starting up made lives as long as the process: out of the collector's way,
            # a full collection walks only what requests make, and pauses the answers less.
            gc.freeze()
        try:
            async with AsyncExitStack() as jobs:
                for council in councils:
                    if council.settings.runs_jobs_in_process:
                        engine = engines[council.key]
                        await jobs.enter_async_context(
                            run_jobs_in_process(council.settings, engine=engine, clock=clock)
                        )
                yield
        finally:
            for engine in engines.values():
                await engine.dispose()
            for reads in app.state.hosts.read_engines():
                await reads.dispose()

    handlers = exception_handlers()
    handlers[CsrfFailed] = lambda _request, exc: problem(*CSRF_FAILED, str(exc))
    handlers[Exception] = unexpected_problem
    if settings.environment != "test":
        configure_logging()
    return Litestar(
        route_handlers=[health, *HEALTH_ROUTES, metrics, *ROUTES],
        dependencies={
            "db": Provide(provide_db),
            "read_db": Provide(provide_read_db),
            "now": Provide(provide_now, sync_to_thread=False),
            "who": Provide(provide_principal),
            "council": Provide(provide_council, sync_to_thread=False),
        },
        exception_handlers=handlers,
        lifespan=[lifespan],
        middleware=[observed, forwarded_client(settings.forwarded_allow_ips), route_by_host],
        before_request=guard_request,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OPENAPI,
        plugins=[WebPlugin()],
        logging_config=None,  # Tide's own (api.logs): Litestar's would replace the root logger's handlers
        debug=False,
    )
