"""Report definitions (CRUD), runs (now, or due by the schedule), their files, and retention.

Scope (``targets``): a definition, its runs and files belong to their target, a site, a device
group or an energy community. A principal that cannot see it gets ``NotFound``; part of a group
is 403 ``group_out_of_scope``; device keys (limited to assets) see no reports. Recipients are
users allowed to see the report (checked when saved, and again when a run is delivered). Services
flush; the caller commits (``tasks`` commits the scheduler's steps itself).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import GridpilotError, NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.reports import periods, targets
from gridpilot.reports.document import Document
from gridpilot.reports.kinds import BuildContext, get_kind, load
from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun, ReportRunSite
from gridpilot.reports.periods import PeriodInvalid
from gridpilot.reports.recipients import (
    RecipientNotAllowed,
    RecipientWithoutEmail,
    check_recipients,
)
from gridpilot.reports.runs import (
    MAX_PERIOD_DAYS,
    check_period,
    choose_period,
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
    run_site_ids,
)
from gridpilot.reports.schemas import DefinitionCreate, DefinitionUpdate
from gridpilot.reports.targets import Target, system_principal

__all__ = [
    "MAX_PERIOD_DAYS",
    "PeriodInvalid",
    "RecipientNotAllowed",
    "RecipientWithoutEmail",
    "Target",
    "check_period",
    "check_recipients",
    "claim_due",
    "create_definition",
    "default_period",
    "delete_definition",
    "describe_targets",
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
    "run_site_ids",
    "system_principal",
    "target_of",
    "update_definition",
]


async def _check_fields(
    session: AsyncSession, principal: Principal, target: Target, definition: ReportDefinition
) -> None:
    kind = get_kind(definition.kind)
    params = kind.parse(definition.params)
    kind.check_target(target.kind, definition.schedule, params)
    definition.params = params.model_dump(mode="json")
    await kind.check(session, principal, target, params)
    await check_recipients(session=session, definition=definition, user_ids=definition.recipients)
    definition.next_run_ms = (
        periods.next_due_ms(definition.schedule, target.timezone, int(time.time() * 1000))
        if definition.enabled
        else None
    )


async def _target(
    session: AsyncSession, principal: Principal, definition: ReportDefinition, *, stored: bool
) -> Target:
    """The definition's target for a change (CONFIGURE, and a community's admin)."""
    return await targets.resolve(
        session=session, principal=principal, definition=definition, manage=True, stored=stored
    )


async def _for_change(
    session: AsyncSession, principal: Principal, definition_id: int
) -> tuple[ReportDefinition, Target]:
    """A stored definition and its target, for a change or a run."""
    principal.require(Permission.CONFIGURE)
    definition = await session.get(ReportDefinition, definition_id)
    if definition is None:
        raise NotFound("report not found")
    return definition, await _target(session, principal, definition, stored=True)


async def create_definition(
    *, session: AsyncSession, principal: Principal, data: DefinitionCreate
) -> ReportDefinition:
    """A new definition (needs CONFIGURE and its target in scope: the site, every site of the
    group's members, the community as its admin)."""
    principal.require(Permission.CONFIGURE)
    definition = ReportDefinition(
        site_id=data.site_id,
        group_id=data.group_id,
        community_id=data.community_id,
        timezone=targets.check_zone(data.timezone) if data.timezone is not None else None,
        name=data.name,
        kind=data.kind,
        params=data.params,
        formats=list(dict.fromkeys(data.formats)),
        schedule=data.schedule,
        recipients=list(dict.fromkeys(data.recipients)),
        enabled=data.enabled,
        created_by=principal.subject,
    )
    get_kind(data.kind)  # unknown_report_kind before the target's checks
    target = await _target(session, principal, definition, stored=False)
    if target.kind != targets.SITE:
        definition.timezone = target.timezone
    await _check_fields(session, principal, target, definition)
    session.add(definition)
    await session.flush()
    return definition


async def get_definition(
    *, session: AsyncSession, principal: Principal, definition_id: int
) -> ReportDefinition:
    """The definition, if the principal may read it (``targets.resolve``)."""
    definition = await session.get(ReportDefinition, definition_id)
    if definition is None:
        raise NotFound("report not found")
    await targets.resolve(session=session, principal=principal, definition=definition)
    return definition


async def target_of(
    *, session: AsyncSession, principal: Principal, definition: ReportDefinition
) -> Target:
    """The definition's target as the principal sees it."""
    return await targets.resolve(session=session, principal=principal, definition=definition)


async def describe_targets(
    *, session: AsyncSession, principal: Principal, definitions: Sequence[ReportDefinition]
) -> dict[int, Target]:
    """Per definition id, its target as the principal sees it (those it may not see left
    out): names and zones for listings."""
    found: dict[int, Target] = {}
    for definition in definitions:
        try:
            found[definition.id] = await target_of(
                session=session, principal=principal, definition=definition
            )
        except GridpilotError:
            continue
    return found


async def list_definitions(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    group_id: int | None = None,
    community_id: int | None = None,
) -> list[ReportDefinition]:
    """Definitions the principal may read, by id (of its sites; of the groups whose every
    site it sees; of the communities it administers, or naming it as the member)."""
    if principal.asset_ids is not None:
        return []
    query = select(ReportDefinition).order_by(ReportDefinition.id)
    for column, value in (
        (ReportDefinition.site_id, site_id),
        (ReportDefinition.group_id, group_id),
        (ReportDefinition.community_id, community_id),
    ):
        if value is not None:
            query = query.where(column == value)
    found = []
    scoped: dict[tuple[str, int], bool] = {}
    for definition in (await session.scalars(query)).all():
        if definition.site_id is not None:
            if principal.can_see_site(definition.site_id):
                found.append(definition)
            continue
        key = targets.kind_of(definition)
        if definition.community_id is not None:  # a member's own report: not per community
            key = (key[0], definition.id)
        if key not in scoped:
            scoped[key] = await targets.may_see(
                session=session, principal=principal, definition=definition
            )
        if scoped[key]:
            found.append(definition)
    return found


async def update_definition(
    *, session: AsyncSession, principal: Principal, definition_id: int, data: DefinitionUpdate
) -> ReportDefinition:
    definition, target = await _for_change(session, principal, definition_id)
    if data.timezone is not None:
        if definition.group_id is None:
            raise ValidationFailed(
                "timezone is for group reports (a site's or community's is its own)"
            )
        definition.timezone = targets.check_zone(data.timezone)
    for name in data.model_fields_set - {"timezone"}:
        value = getattr(data, name)
        if value is not None:
            setattr(
                definition, name, list(dict.fromkeys(value)) if isinstance(value, list) else value
            )
    if data.timezone is not None:
        target = await _target(session, principal, definition, stored=True)
    await _check_fields(session, principal, target, definition)
    await session.flush()
    return definition


async def delete_definition(
    *, session: AsyncSession, principal: Principal, definition_id: int
) -> None:
    """Delete a definition with its runs and files."""
    definition, _ = await _for_change(session, principal, definition_id)
    runs = select(ReportRun.id).where(ReportRun.definition_id == definition.id)
    await session.execute(delete(ReportFile).where(ReportFile.run_id.in_(runs)))
    await session.execute(delete(ReportRunSite).where(ReportRunSite.run_id.in_(runs)))
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
            "targets": sorted(k.targets),
            "schedules": [s for s in periods.SCHEDULES if s in k.schedules],
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
    """Run a definition now over the given period (default: the kind's own, else
    ``default_period``)."""
    definition, target = await _for_change(session, principal, definition_id)
    now = int(time.time() * 1000)
    period = await choose_period(
        session=session, principal=principal, definition=definition, target=target,
        now_ms=now, start_ms=start_ms, end_ms=end_ms,
    )  # fmt: skip
    run = new_run(definition, period.start_ms, period.end_ms, "manual", principal.subject, now)
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
    """The definition's document over the period (default: the kind's own, else
    ``default_period``), built with the caller's rights and neither stored nor sent (the
    dashboard's preview)."""
    definition = await session.get(ReportDefinition, definition_id)
    if definition is None:
        raise NotFound("report not found")
    target = await target_of(session=session, principal=principal, definition=definition)
    now = int(time.time() * 1000)
    period = await choose_period(
        session=session, principal=principal, definition=definition, target=target,
        now_ms=now, start_ms=start_ms, end_ms=end_ms,
    )  # fmt: skip
    kind = get_kind(definition.kind)
    context = BuildContext(
        session=session,
        principal=principal,
        target=target,
        start_ms=period.start_ms,
        end_ms=period.end_ms,
        now_ms=now,
        settings=settings,
    )
    return await kind.build(context, kind.parse(definition.params))
