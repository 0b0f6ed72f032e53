"""The council's redaction lists (admins), and the personal-data check of free text as it is typed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from pydantic import ConfigDict, StringConstraints

from api.deps import DbDep, NowDep, WhoDep
from api.routes.common import PathId, body, problems
from api.schemas import In, Out
from reports import redaction_lists


class RedactionTermCreate(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"list_name": "vulnerability_words", "term": "The Haven"}]}
    )

    list_name: Literal[
        "personal_payees", "sensitive_merchants", "vulnerability_words", "forenames", "surnames", "known_businesses"
    ]
    term: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class RedactionTermRead(Out):
    id: int
    list_name: str
    term: str
    added_at: datetime


class FreeTextCheck(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "Cot and bedding"}]})

    text: Annotated[str, StringConstraints(max_length=2_000)]


class FreeTextWarningRead(Out):
    kinds: list[str]
    sentence: str


class RedactionController(Controller):
    path = "/api/v1/redaction-terms"
    tags = ["reports"]

    @get("/", summary="The council's redaction lists (admin)", responses=problems(403))
    async def list_terms(self, db: DbDep, who: WhoDep) -> list[RedactionTermRead]:
        return [RedactionTermRead.model_validate(t) for t in await redaction_lists.list_redaction_terms(db, who=who)]

    @post("/", summary="Add an entry to a redaction list (admin)", responses=problems(403, 409, 422), status_code=201)
    async def add_term(
        self, db: DbDep, now: NowDep, who: WhoDep, data: Annotated[RedactionTermCreate, body(RedactionTermCreate)]
    ) -> RedactionTermRead:
        entry = await redaction_lists.add_redaction_term(db, who=who, list_name=data.list_name, term=data.term, now=now)
        return RedactionTermRead.model_validate(entry)

    @delete("/{term_id:int}", summary="Take an entry off its list (admin)", responses=problems(403, 404))
    async def remove_term(self, db: DbDep, now: NowDep, who: WhoDep, term_id: PathId) -> None:
        await redaction_lists.remove_redaction_term(db, who=who, term_id=term_id, now=now)


class FreeTextCheckController(Controller):
    path = "/api/v1/free-text-check"
    tags = ["purchases"]

    @post("/", summary="Does this text look personal? (never kept or logged)", responses=problems(), status_code=200)
    async def check(
        self, db: DbDep, who: WhoDep, data: Annotated[FreeTextCheck, body(FreeTextCheck)]
    ) -> FreeTextWarningRead:
        warning = await redaction_lists.check_free_text(db, who=who, text=data.text)
        return FreeTextWarningRead(kinds=list(warning.kinds), sentence=warning.sentence)
