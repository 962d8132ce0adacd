"""``POST /api/v1/graphql``: a GraphQL query over JSON, authenticated and authorised as REST
(Bearer JWT or ``X-API-Key``, READ permission, site scope per field). No GraphiQL, no GET, no
subscriptions: a query is a POST with ``{"query", "variables", "operationName"}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from strawberry.schema.exceptions import CannotGetOperationTypeError

from gridpilot.auth.dependencies import Reader
from gridpilot.balance.dependencies import CacheDep
from gridpilot.balance.recent import RECENT_BALANCES
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.gql import limits
from gridpilot.gql.context import Context
from gridpilot.gql.schema import build_schema

router = APIRouter(tags=["graphql"])

DESCRIPTION = f"""One GraphQL query for sites, assets, latest values, series, today's KPIs
(energy, self-consumption, carbon saved, grid revenue), the current balance and alerts
(schema and examples: docs/graphql.md; `gridpilot graphql-schema` prints the SDL). Same
credentials and permission as REST; each site-scoped field checks the caller's sites, so a
site outside them is a `not_found` error (top level) or null / left out (nested), never its
data. Refused before executing, with HTTP 400 and `errors[].extensions.code`: deeper than
{limits.MAX_DEPTH} levels (`graphql_validation`), an estimated cost over {limits.MAX_COST:,}
(`query_too_costly`), more than {limits.MAX_TOKENS:,} tokens or {limits.MAX_ALIASES} aliases,
a syntax or schema error. Errors while executing answer 200 with `data` for what succeeded
and `errors[].extensions.code` (`not_found`, `validation_failed`, `too_large`...)."""


class GraphQLRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    query: str = Field(
        min_length=1, max_length=100_000, description="The GraphQL document (not empty)"
    )
    variables: dict[str, Any] | None = None
    operation_name: str | None = Field(default=None, alias="operationName", max_length=200)


class GraphQLResponse(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


#: The app's GraphQL schema, built on first use (``core/runtime.py``).
GRAPHQL_SCHEMA: Slot[Any] = Slot("graphql_schema")


def _schema(request: Request) -> Any:
    return runtime_of(request.app).get_or_make(GRAPHQL_SCHEMA, build_schema)


@router.post(
    "/graphql",
    summary="Run a GraphQL query (sites, assets, series, KPIs, balance, alerts)",
    description=DESCRIPTION,
    response_model=GraphQLResponse,
    responses={400: {"model": GraphQLResponse, "description": "Refused before executing"}},
)
async def graphql(
    body: GraphQLRequest,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> JSONResponse:
    context = Context(
        principal=principal,
        session=session,
        settings=settings,
        now_ms=now_ms(),
        cache=cache,
        recent=runtime_of(request.app).get(RECENT_BALANCES),
    )
    token = limits.VARIABLES.set(body.variables or {})  # the cost limit reads sizes there
    try:
        result = await _schema(request).execute(
            body.query,
            variable_values=body.variables,
            context_value=context,
            operation_name=body.operation_name or None,  # "" names no operation
        )
    except CannotGetOperationTypeError:  # strawberry raises instead of answering an error
        message = f"the document has no operation named {body.operation_name!r}"
        error = {"message": message, "extensions": {"code": "unknown_operation"}}
        return JSONResponse({"data": None, "errors": [error]}, status_code=400)
    finally:
        limits.VARIABLES.reset(token)
    errors = [e.formatted for e in result.errors or []]
    refused = bool(errors) and result.data is None and all("path" not in e for e in errors)
    answer: dict[str, Any] = {"data": result.data}
    if errors:
        answer["errors"] = errors
    return JSONResponse(answer, status_code=400 if refused else 200)
