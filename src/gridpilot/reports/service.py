"""Report definitions (CRUD), runs (now, or due by the schedule), their files, and retention.

Scope: a definition, its runs and files belong to their site: a principal that cannot see the
site gets ``NotFound``; device keys (limited to assets) see no reports. Recipients are users
allowed to see the site (checked when saved, and again when a run is delivered). Services
flush; the caller commits (``tasks`` commits the scheduler's steps itself).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Site
from gridpilot.assets.service import get_site
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.auth.service import site_ids_of
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.reports import periods
from gridpilot.reports.access import check_scope, system_principal
from gridpilot.reports.document import Document
from gridpilot.reports.kinds import BuildContext, get_kind, load
from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun
from gridpilot.reports.runs import (
    MAX_PERIOD_DAYS,
    PeriodInvalid,
    check_period,
    claim_due,
    default_period,
    due_definitions,
    execute,
    get_file,
    get_run,
    list_runs,
    new_run,
    prune,
    run_files,
)
from gridpilot.reports.schemas import DefinitionCreate, DefinitionUpdate

__all__ = [
    "MAX_PERIOD_DAYS",
    "PeriodInvalid",
    "RecipientNotAllowed",
    "RecipientWithoutEmail",
    "check_recipients",
    "claim_due",
    "create_definition",
    "delete_definition",
    "due_definitions",
    "execute",
    "get_definition",
    "get_file",
    "get_run",
    "kinds",
    "list_definitions",
    "list_runs",
    "preview",
    "prune",
    "run_files",
    "run_now",
    "system_principal",
    "update_definition",
]
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


class RecipientNotAllowed(ValidationFailed):
    code = "recipient_not_allowed"


class RecipientWithoutEmail(ValidationFailed):
    code = "recipient_without_email"


async def check_recipients(
    *, session: AsyncSession, site_id: int, user_ids: Sequence[int]
) -> dict[int, str]:
    """Each recipient's e-mail address; ``RecipientNotAllowed`` for a user that is missing,
    disabled or not allowed to see the site, ``RecipientWithoutEmail`` when the username is
    not an e-mail address (gridpilot users have no other address)."""
    ids = list(dict.fromkeys(user_ids))
    users = list(await session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    sites = await site_ids_of(session=session, users=users)
    found = {u.id: u for u in users}
    addresses: dict[int, str] = {}
    for user_id in ids:
        user = found.get(user_id)
        allowed = user is not None and not user.disabled
        if allowed and user is not None:
            scope = sites[user.id]
            allowed = scope is None or site_id in scope
        if not allowed or user is None:
            raise RecipientNotAllowed(f"user {user_id} may not receive reports of this site")
        if not EMAIL.fullmatch(user.username):
            raise RecipientWithoutEmail(
                f"user {user_id} has no e-mail address (the username must be one)"
            )
        addresses[user_id] = user.username
    return addresses


async def _check_fields(
    session: AsyncSession, principal: Principal, site: Site, definition: ReportDefinition
) -> None:
    kind = get_kind(definition.kind)
    params = kind.parse(definition.params)
    definition.params = params.model_dump(mode="json")
    await kind.check(session, principal, site, params)
    await check_recipients(session=session, site_id=site.id, user_ids=definition.recipients)
    definition.next_run_ms = (
        periods.next_due_ms(definition.schedule, site.timezone, int(time.time() * 1000))
        if definition.enabled
        else None
    )


async def create_definition(
    *, session: AsyncSession, principal: Principal, data: DefinitionCreate
) -> ReportDefinition:
    """A new definition (needs CONFIGURE and the site in scope)."""
    principal.require(Permission.CONFIGURE)
    check_scope(principal, data.site_id)
    site = await get_site(session=session, site_id=data.site_id, principal=principal)
    definition = ReportDefinition(
        site_id=site.id,
        name=data.name,
        kind=data.kind,
        params=data.params,
        formats=list(dict.fromkeys(data.formats)),
        schedule=data.schedule,
        recipients=list(dict.fromkeys(data.recipients)),
        enabled=data.enabled,
        created_by=principal.subject,
    )
    await _check_fields(session, principal, site, definition)
    session.add(definition)
    await session.flush()
    return definition


async def get_definition(
    *, session: AsyncSession, principal: Principal, definition_id: int
) -> ReportDefinition:
    definition = await session.get(ReportDefinition, definition_id)
    if definition is None:
        raise NotFound("report not found")
    check_scope(principal, definition.site_id)
    return definition


async def list_definitions(
    *, session: AsyncSession, principal: Principal, site_id: int | None = None
) -> list[ReportDefinition]:
    """Definitions of the sites the principal sees, by id."""
    if principal.asset_ids is not None:
        return []
    query = select(ReportDefinition).order_by(ReportDefinition.id)
    if principal.site_ids is not None:
        query = query.where(ReportDefinition.site_id.in_(sorted(principal.site_ids)))
    if site_id is not None:
        query = query.where(ReportDefinition.site_id == site_id)
    return list((await session.scalars(query)).all())


async def update_definition(
    *, session: AsyncSession, principal: Principal, definition_id: int, data: DefinitionUpdate
) -> ReportDefinition:
    principal.require(Permission.CONFIGURE)
    definition = await get_definition(
        session=session, principal=principal, definition_id=definition_id
    )
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is not None:
            setattr(
                definition, name, list(dict.fromkeys(value)) if isinstance(value, list) else value
            )
    site = await get_site(session=session, site_id=definition.site_id, principal=principal)
    await _check_fields(session, principal, site, definition)
    await session.flush()
    return definition


async def delete_definition(
    *, session: AsyncSession, principal: Principal, definition_id: int
) -> None:
    """Delete a definition with its runs and files."""
    principal.require(Permission.CONFIGURE)
    definition = await get_definition(
        session=session, principal=principal, definition_id=definition_id
    )
    runs = select(ReportRun.id).where(ReportRun.definition_id == definition.id)
    await session.execute(delete(ReportFile).where(ReportFile.run_id.in_(runs)))
    await session.execute(delete(ReportRun).where(ReportRun.definition_id == definition.id))
    await session.delete(definition)
    await session.flush()


def kinds() -> list[dict[str, Any]]:
    """Every kind with its parameters' JSON schema and formats."""
    return [
        {
            "name": k.name,
            "title": k.title,
            "description": k.description,
            "formats": sorted(k.renderers),
            "params_schema": k.params.model_json_schema(),
        }
        for k in load().values()
    ]


async def run_now(
    *,
    session: AsyncSession,
    principal: Principal,
    definition_id: int,
    settings: Settings,
    start_ms: int | None,
    end_ms: int | None,
) -> ReportRun:
    """Run a definition now over the given period (default: ``default_period``)."""
    principal.require(Permission.CONFIGURE)
    definition = await get_definition(
        session=session, principal=principal, definition_id=definition_id
    )
    site = await get_site(session=session, site_id=definition.site_id, principal=principal)
    now = int(time.time() * 1000)
    if start_ms is None or end_ms is None:
        period = default_period(definition, site.timezone, now)
        start_ms = period.start_ms if start_ms is None else start_ms
        end_ms = period.end_ms if end_ms is None else end_ms
    check_period(start_ms, end_ms)
    run = new_run(definition, start_ms, end_ms, "manual", principal.subject, now)
    session.add(run)
    await session.flush()
    return await execute(
        session=session, principal=principal, definition=definition, run=run, settings=settings
    )


async def preview(
    *,
    session: AsyncSession,
    principal: Principal,
    definition_id: int,
    settings: Settings,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> Document:
    """The definition's document over the period (default: ``default_period``), built with
    the caller's rights and neither stored nor sent (the dashboard's preview)."""
    definition = await get_definition(
        session=session, principal=principal, definition_id=definition_id
    )
    site = await get_site(session=session, site_id=definition.site_id, principal=principal)
    now = int(time.time() * 1000)
    period = default_period(definition, site.timezone, now)
    start_ms = period.start_ms if start_ms is None else start_ms
    end_ms = period.end_ms if end_ms is None else end_ms
    check_period(start_ms, end_ms)
    kind = get_kind(definition.kind)
    context = BuildContext(
        session=session,
        principal=principal,
        site=site,
        start_ms=start_ms,
        end_ms=end_ms,
        now_ms=now,
        settings=settings,
    )
    return await kind.build(context, kind.parse(definition.params))
