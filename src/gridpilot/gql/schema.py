"""The GraphQL schema: the ``Query`` root and the strawberry ``Schema`` with its limits
(``gql.limits``). ``sdl()`` prints the schema (docs/graphql.md holds a copy, kept equal by a
test)."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.types import ExecutionContext

from gridpilot.alerts.lifecycle import AlertFilter, list_alerts
from gridpilot.assets.service import get_asset, get_site, list_sites
from gridpilot.auth.permissions import Permission
from gridpilot.core.errors import GridpilotError, NotFound, ValidationFailed
from gridpilot.gql import limits
from gridpilot.gql.types import Alert, Asset, Ctx, Site

log = logging.getLogger(__name__)


def _ids(ids: list[int] | None, limit: int) -> None:
    if ids is not None and not 1 <= len(ids) <= limits.MAX_LIST:
        raise ValidationFailed(f"ids must list 1 to {limits.MAX_LIST} site ids")
    if not 1 <= limit <= limits.MAX_LIST:
        raise ValidationFailed(f"limit must lie between 1 and {limits.MAX_LIST}")


@strawberry.type
class Query:
    @strawberry.field(
        description="Sites you may see, by id: `ids` picks some (one you may not see is an "
        "error naming it, never its data), else the first `limit` from `offset`"
    )
    async def sites(
        self, info: Ctx, ids: list[int] | None = None, limit: int = 100, offset: int = 0
    ) -> list[Site]:
        ctx = info.context
        ctx.principal.require(Permission.READ)
        _ids(ids, limit)
        if ids is not None:
            found = await ctx.loaders.site.load_many(ids)
            missing = [i for i, s in zip(ids, found, strict=True) if s is None]
            if missing:
                raise NotFound(f"site {missing[0]} not found")
            return [Site.of(s) for s in found if s is not None]
        rows = await ctx.call(
            lambda: list_sites(
                session=ctx.session, principal=ctx.principal, limit=limit, offset=max(0, offset)
            )
        )
        for row in rows:
            ctx.loaders.site.prime(row.id, row)
        return [Site.of(s) for s in rows]

    @strawberry.field(description="One site (`not_found` when missing or out of your scope)")
    async def site(self, info: Ctx, id: int) -> Site:
        ctx = info.context
        ctx.principal.require(Permission.READ)
        row = await ctx.call(
            lambda: get_site(session=ctx.session, site_id=id, principal=ctx.principal)
        )
        return Site.of(row)

    @strawberry.field(description="One asset (`not_found` when missing or out of your scope)")
    async def asset(self, info: Ctx, id: int) -> Asset:
        ctx = info.context
        ctx.principal.require(Permission.READ)
        row = await ctx.call(
            lambda: get_asset(session=ctx.session, asset_id=id, principal=ctx.principal)
        )
        return Asset.of(row)

    @strawberry.field(
        description="Alerts you may see, newest first, as GET /api/v1/alerts (states: active, "
        "acknowledged, resolved; default all)"
    )
    async def alerts(
        self,
        info: Ctx,
        site_id: int | None = None,
        states: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Alert]:
        ctx = info.context
        ctx.principal.require(Permission.READ)
        _ids(None, limit)
        where = AlertFilter(states=states or None, site_id=site_id)
        rows = await ctx.call(
            lambda: list_alerts(
                session=ctx.session,
                principal=ctx.principal,
                where=where,
                limit=limit,
                offset=max(0, offset),
            )
        )
        return [Alert.of(a) for a in rows]


class Schema(strawberry.Schema):
    """Strawberry's schema, logging a refused or failed query at INFO with its code (the
    caller gets the error; a stack trace only for the unexpected ones)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, GridpilotError | GraphQLError):
                log.error("graphql: %s", error.message, exc_info=original)
            else:
                log.info("graphql refused: %s", error.message)


def build_schema() -> strawberry.Schema:
    """The schema with its depth, cost, token and alias limits and coded errors."""
    return Schema(
        query=Query,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=limits.MAX_DEPTH),
            lambda: AddValidationRules([limits.CostLimit]),
            lambda: MaxTokensLimiter(max_token_count=limits.MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=limits.MAX_ALIASES),
            limits.CodedErrors,
        ],
    )


def sdl() -> str:
    """The schema in GraphQL SDL."""
    return build_schema().as_str() + "\n"
