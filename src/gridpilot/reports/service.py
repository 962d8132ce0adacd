"""Report definitions (CRUD), runs (now, or due by the schedule), their files, and retention.

Scope: a definition, its runs and files belong to their site: a principal that cannot see the
site gets ``NotFound``; device keys (limited to assets) see no reports. Recipients are users
allowed to see the site (checked when saved, and again when a run is delivered). Services
flush; the caller commits (``tasks`` commits the scheduler's steps itself).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Site
from gridpilot.assets.service import get_site
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.auth.service import site_ids_of
from gridpilot.core.errors import GridpilotError, NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.reports import periods
from gridpilot.reports.kinds import BuildContext, get_kind, load
from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun
from gridpilot.reports.schemas import DefinitionCreate, DefinitionUpdate

#: Longest period of one run [days] (the KPI service's limit at 15 min is 416 days).
MAX_PERIOD_DAYS = 400
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


class RecipientNotAllowed(ValidationFailed):
    code = "recipient_not_allowed"


class RecipientWithoutEmail(ValidationFailed):
    code = "recipient_without_email"


class PeriodInvalid(ValidationFailed):
    code = "report_period_invalid"


def _check_scope(principal: Principal, site_id: int) -> None:
    if principal.asset_ids is not None or not principal.can_see_site(site_id):
        raise NotFound("report not found")


def system_principal(site_id: int) -> Principal:
    """Who a scheduled run reads as: a viewer of the definition's site only."""
    return Principal(
        subject="system:reports", name="reports", role=Role.VIEWER, site_ids=frozenset({site_id})
    )


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
    _check_scope(principal, data.site_id)
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
    _check_scope(principal, definition.site_id)
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


def default_period(definition: ReportDefinition, timezone: str, now_ms: int) -> periods.Period:
    """The schedule's latest whole period; 30 whole local days for an unscheduled one."""
    if definition.schedule == "none":
        return periods.last_days(30, timezone, now_ms)
    return periods.latest_due(definition.schedule, timezone, now_ms)


def check_period(start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise PeriodInvalid("end must be after start")
    if end_ms - start_ms > MAX_PERIOD_DAYS * 86_400_000:
        raise PeriodInvalid(f"a report covers at most {MAX_PERIOD_DAYS} days")


async def execute(
    *,
    session: AsyncSession,
    principal: Principal,
    definition: ReportDefinition,
    run: ReportRun,
    settings: Settings,
) -> ReportRun:
    """Build the run's document and store its files; a builder's refusal fails the run
    (``status`` ``failed`` with the reason), it is not raised."""
    clock = time.perf_counter()
    kind = get_kind(definition.kind)
    site = await get_site(session=session, site_id=definition.site_id, principal=principal)
    context = BuildContext(
        session=session,
        principal=principal,
        site=site,
        start_ms=run.start_ms,
        end_ms=run.end_ms,
        now_ms=int(time.time() * 1000),
        settings=settings,
    )
    try:
        document = await kind.build(context, kind.parse(definition.params))
    except GridpilotError as exc:
        run.status, run.error = "failed", exc.message[:2000]
    else:
        stem = file_stem(definition, site, run)
        for fmt in definition.formats:
            renderer = kind.renderers[fmt]
            content = renderer.render(document)
            session.add(
                ReportFile(
                    run_id=run.id,
                    format=fmt,
                    filename=f"{stem}.{renderer.extension}",
                    content_type=renderer.content_type,
                    size_bytes=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                    content=content,
                )
            )
        run.status = "done"
    run.finished_ms = int(time.time() * 1000)
    run.duration_ms = int((time.perf_counter() - clock) * 1000)
    await session.flush()
    return run


def file_stem(definition: ReportDefinition, site: Site, run: ReportRun) -> str:
    """``<kind>-<site>-<local start date>-<run id>``, ASCII letters, digits and dashes only."""
    from gridpilot.reports.document import local_iso

    day = local_iso(run.start_ms, site.timezone)[:10]
    name = re.sub(r"[^A-Za-z0-9]+", "-", site.name).strip("-").lower()[:40] or "site"
    return f"{definition.kind.replace('_', '-')}-{name}-{day}-run{run.id}"


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


def new_run(
    definition: ReportDefinition,
    start_ms: int,
    end_ms: int,
    trigger: str,
    by: str,
    now: int,
    schedule_key: str | None = None,
) -> ReportRun:
    return ReportRun(
        definition_id=definition.id,
        site_id=definition.site_id,
        kind=definition.kind,
        start_ms=start_ms,
        end_ms=end_ms,
        trigger=trigger,
        schedule_key=schedule_key,
        status="running",
        delivery=[],
        created_ms=now,
        created_by=by,
    )


async def list_runs(
    *,
    session: AsyncSession,
    principal: Principal,
    definition_id: int | None = None,
    site_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ReportRun]:
    """Runs of the sites the principal sees, newest first."""
    if principal.asset_ids is not None:
        return []
    query = select(ReportRun).order_by(ReportRun.created_ms.desc(), ReportRun.id.desc())
    if principal.site_ids is not None:
        query = query.where(ReportRun.site_id.in_(sorted(principal.site_ids)))
    if definition_id is not None:
        query = query.where(ReportRun.definition_id == definition_id)
    if site_id is not None:
        query = query.where(ReportRun.site_id == site_id)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def get_run(*, session: AsyncSession, principal: Principal, run_id: int) -> ReportRun:
    run = await session.get(ReportRun, run_id)
    if run is None:
        raise NotFound("report run not found")
    _check_scope(principal, run.site_id)
    return run


async def run_files(*, session: AsyncSession, run_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Per run id, its files' (format, filename, content type, size, sha256), by format."""
    rows = await session.execute(
        select(
            ReportFile.run_id,
            ReportFile.format,
            ReportFile.filename,
            ReportFile.content_type,
            ReportFile.size_bytes,
            ReportFile.sha256,
        )
        .where(ReportFile.run_id.in_(list(run_ids)))
        .order_by(ReportFile.format)
    )
    found: dict[int, list[Any]] = {i: [] for i in run_ids}
    for row in rows:
        found[row[0]].append(tuple(row[1:]))
    return found


async def get_file(
    *, session: AsyncSession, principal: Principal, run_id: int, fmt: str
) -> ReportFile:
    """A run's file: ``NotFound`` unless the principal sees the run's site."""
    run = await get_run(session=session, principal=principal, run_id=run_id)
    found = await session.scalar(
        select(ReportFile).where(ReportFile.run_id == run.id, ReportFile.format == fmt)
    )
    if found is None:
        raise NotFound(f"run {run_id} has no {fmt} file")
    return found


async def claim_due(
    *, session: AsyncSession, definition_id: int, now_ms: int
) -> tuple[ReportDefinition, ReportRun] | None:
    """Claim a due scheduled run (compare-and-set on ``next_run_ms``, then the run row with its
    unique ``schedule_key``): None when another process got there first. The period is the
    schedule's latest whole one, so runs missed while no process ran are caught up once (the
    latest), never one per missed period."""
    definition = await session.get(ReportDefinition, definition_id)
    if definition is None or definition.next_run_ms is None or definition.next_run_ms > now_ms:
        return None
    site = await session.get(Site, definition.site_id)
    assert site is not None
    due = definition.next_run_ms
    upcoming = periods.next_due_ms(definition.schedule, site.timezone, now_ms)
    moved = await session.execute(
        update(ReportDefinition)
        .where(ReportDefinition.id == definition_id, ReportDefinition.next_run_ms == due)
        .values(next_run_ms=upcoming)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    period = periods.latest_due(definition.schedule, site.timezone, now_ms)
    run = new_run(
        definition,
        period.start_ms,
        period.end_ms,
        "scheduled",
        "system:reports",
        now_ms,
        schedule_key=f"{definition.id}:{period.start_ms}",
    )
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        return None  # this period was reported already
    return definition, run


async def due_definitions(*, session: AsyncSession, now_ms: int) -> list[int]:
    rows = await session.scalars(
        select(ReportDefinition.id)
        .where(ReportDefinition.enabled.is_(True), ReportDefinition.next_run_ms <= now_ms)
        .order_by(ReportDefinition.next_run_ms)
    )
    return list(rows.all())


async def prune(*, session: AsyncSession, now_ms: int, retention_days: float) -> int:
    """Delete runs (and files) older than the retention; fail runs left running for an hour
    (their process died). The number of runs deleted."""
    cutoff = now_ms - int(retention_days * 86_400_000)
    old = select(ReportRun.id).where(ReportRun.created_ms < cutoff)
    await session.execute(delete(ReportFile).where(ReportFile.run_id.in_(old)))
    gone = await session.execute(delete(ReportRun).where(ReportRun.created_ms < cutoff))
    await session.execute(
        update(ReportRun)
        .where(ReportRun.status == "running", ReportRun.created_ms < now_ms - 3_600_000)
        .values(status="failed", error="interrupted: the process running it stopped")
    )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


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
