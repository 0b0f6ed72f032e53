"""What every route module shares: documented problem responses and small converters."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, BodyKwarg, PathParameter, QueryParameter
from pydantic import BaseModel

from api.errors import PROBLEM_JSON


class ProblemRead(BaseModel):
    """An RFC 9457 problem: a stable ``type`` per rule, a title, the status and the detail."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None
    reasons: list[dict[str, str]] | None = None


#: The largest id the API accepts (as in request bodies): beyond it, no row exists and the
#: databases' 64-bit integers would overflow.
MAX_ID = 2**53
#: An id in the path or the query: a whole number from 1 to ``MAX_ID``, else 422.
PathId: TypeAlias = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
QueryId: TypeAlias = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]

_DESCRIPTIONS = {
    400: "Malformed request (bad Idempotency-Key, unreadable body)",
    401: "Not signed in",
    402: "Declined: not enough left in the budget, or the policy says no",
    403: "Your role cannot do this (or a missing CSRF token)",
    404: "Not found, or not yours to see",
    409: "Conflicts with the current state (or an Idempotency-Key reused for another body)",
    413: "The body is too large",
    422: "Invalid input: the problem names each field",
    415: "The body is not of the media type the operation reads",
    429: "Too many attempts (Retry-After says when to try again)",
    503: "The database or the card issuer cannot be reached: nothing changed, try again (Retry-After)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses an operation can give.

    Every operation documents 400 (a body that is not JSON, a bad Idempotency-Key), 401, 415
    (a body of another media type), 422 and 503 (the database cannot be reached). No generated
    examples: they would be random (a ``status`` of 7604) and differ on
    every start.
    """
    codes = sorted({400, 401, 415, 422, 503, *statuses})
    return {
        code: ResponseSpec(
            data_container=ProblemRead,
            description=_DESCRIPTIONS[code],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in codes
    }


def body(model: type[BaseModel]) -> BodyKwarg:
    """A JSON request body documented with the example on ``model``'s config."""
    extra = model.model_config.get("json_schema_extra")
    found = extra.get("examples") if isinstance(extra, dict) else None
    examples = found if isinstance(found, list) else []
    marker: BodyKwarg = Body(
        media_type=RequestEncodingType.JSON,
        examples=[Example(summary=f"A typical {model.__name__}", value=value) for value in examples],
    )
    return marker


def dump(model: type[BaseModel], value: Any) -> dict[str, Any]:
    """``value`` (an ORM row or a dict) as the JSON of ``model``."""
    return model.model_validate(value).model_dump(mode="json")
