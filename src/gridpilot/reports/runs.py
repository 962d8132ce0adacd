"""Report runs: build and store a run's files, list and serve them, claim due scheduled runs
(compare-and-set), prune past the retention. ``service`` re-exports what other modules use.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import GridpilotError, NotFound
from gridpilot.core.settings import Settings
from gridpilot.groups.service import GroupOutOfScope
from gridpilot.reports import periods, targets
from gridpilot.reports.kinds import BuildContext, PeriodQuery, get_kind
from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun, ReportRunSite
from gridpilot.reports.periods import PeriodInvalid
from gridpilot.reports.targets import Target

#: Longest period of one run [days] (the KPI service's limit at 15 min is 416 days).
MAX_PERIOD_DAYS = 400


def default_period(definition: ReportDefinition, timezone: str, now_ms: int) -> periods.Period:
    """The schedule's latest whole period; 30 whole local days for an unscheduled one."""
    if definition.schedule == "none":
        return periods.last_days(30, timezone, now_ms)
    return periods.latest_due(definition.schedule, timezone, now_ms)


async def choose_period(
    *,
    session: AsyncSession,
    principal: Principal,
    definition: ReportDefinition,
    target: Target,
    now_ms: int,
    start_ms: int | None,
    end_ms: int | None,
) -> periods.Period:
    """The period of a run now or a preview: the kind's own (a DR event's window, a calendar
    month), else the one asked, completed by ``default_period``; checked."""
    kind = get_kind(definition.kind)
    chosen = None
    if kind.period is not None:
        query = PeriodQuery(session, principal, target, now_ms, start_ms, end_ms)
        chosen = await kind.period(query, kind.parse(definition.params))
    if chosen is None:
        fallback = default_period(definition, target.timezone, now_ms)
        chosen = periods.Period(
            fallback.start_ms if start_ms is None else start_ms,
            fallback.end_ms if end_ms is None else end_ms,
        )
    check_period(chosen.start_ms, chosen.end_ms)
    return chosen


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
    (``status`` ``failed`` with the reason), it is not raised. A group's run records the sites
    it read (``report_run_sites``)."""
    clock = time.perf_counter()
    kind = get_kind(definition.kind)
    try:
        target = await targets.resolve(session=session, principal=principal, definition=definition)
        if target.kind == targets.GROUP:
            session.add_all(ReportRunSite(run_id=run.id, site_id=s.id) for s in target.sites)
            await session.flush()
        context = BuildContext(
            session=session,
            principal=principal,
            target=target,
            start_ms=run.start_ms,
            end_ms=run.end_ms,
            now_ms=int(time.time() * 1000),
            settings=settings,
        )
        document = await kind.build(context, kind.parse(definition.params))
    except GridpilotError as exc:
        run.status, run.error = "failed", exc.message[:2000]
    else:
        stem = file_stem(definition, target, run)
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


def file_stem(definition: ReportDefinition, target: Target, run: ReportRun) -> str:
    """``<kind>-<target name>-<local start date>-<run id>``, ASCII letters, digits and dashes
    only."""
    from gridpilot.reports.document import local_iso

    day = local_iso(run.start_ms, target.timezone)[:10]
    name = re.sub(r"[^A-Za-z0-9]+", "-", target.name).strip("-").lower()[:40] or target.kind
    return f"{definition.kind.replace('_', '-')}-{name}-{day}-run{run.id}"


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
        group_id=definition.group_id,
        community_id=definition.community_id,
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
    """Runs the principal may read, newest first: of its sites; of groups whose every site it
    read is one of the principal's; of the community reports it sees."""
    if principal.asset_ids is not None:
        return []
    query = select(ReportRun).order_by(ReportRun.created_ms.desc(), ReportRun.id.desc())
    query = query.where(await _readable(session, principal))
    if definition_id is not None:
        query = query.where(ReportRun.definition_id == definition_id)
    if site_id is not None:
        query = query.where(ReportRun.site_id == site_id)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def _readable(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """SQL condition: a run the principal may read (see ``list_runs``)."""
    scope = sorted(principal.site_ids) if principal.site_ids is not None else None
    if scope is None:
        site_runs: ColumnElement[bool] = ReportRun.site_id.is_not(None)
        group_runs: ColumnElement[bool] = ReportRun.group_id.is_not(None)
    else:
        site_runs = ReportRun.site_id.in_(scope)
        mine = ReportRunSite.run_id == ReportRun.id
        group_runs = and_(
            ReportRun.group_id.is_not(None),
            exists().where(mine, ReportRunSite.site_id.in_(scope)),
            ~exists().where(mine, ReportRunSite.site_id.not_in(scope)),
        )
    community = await session.scalars(
        select(ReportDefinition).where(ReportDefinition.community_id.is_not(None))
    )
    seen = [
        d.id
        for d in community.all()
        if await targets.may_see(session=session, principal=principal, definition=d)
    ]
    community_runs = ReportRun.definition_id.in_(seen) if seen else false()
    return or_(site_runs, group_runs, community_runs)


async def get_run(*, session: AsyncSession, principal: Principal, run_id: int) -> ReportRun:
    """The run: ``NotFound`` unless the principal may read it; ``GroupOutOfScope`` (403) for a
    group's run that read sites of which it sees only some."""
    run = await session.get(ReportRun, run_id)
    if run is None or principal.asset_ids is not None:
        raise NotFound("report run not found")
    if run.site_id is not None:
        if not principal.can_see_site(run.site_id):
            raise NotFound("report run not found")
    elif run.group_id is not None:
        read = await session.scalars(
            select(ReportRunSite.site_id).where(ReportRunSite.run_id == run.id)
        )
        visible = targets.run_sites_visible(principal, list(read.all()))
        if visible is None:
            raise NotFound("report run not found")
        if not visible:
            raise GroupOutOfScope(
                f"run {run.id} holds data of sites you may not see: only a user of all of "
                "them may read it"
            )
    else:
        definition = await session.get(ReportDefinition, run.definition_id)
        if definition is None or not await targets.may_see(
            session=session, principal=principal, definition=definition
        ):
            raise NotFound("report run not found")
    return run


async def run_site_ids(*, session: AsyncSession, run_ids: Sequence[int]) -> dict[int, list[int]]:
    """Per run id, the sites a group's run read (by id; [] for other runs)."""
    found: dict[int, list[int]] = {i: [] for i in run_ids}
    if run_ids:
        rows = await session.execute(
            select(ReportRunSite.run_id, ReportRunSite.site_id)
            .where(ReportRunSite.run_id.in_(list(run_ids)))
            .order_by(ReportRunSite.run_id, ReportRunSite.site_id)
        )
        for run_id, site_id in rows:
            found[run_id].append(site_id)
    return found


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
    """A run's file: ``NotFound`` unless the principal may read the run (``get_run``)."""
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
    zone = await targets.zone_of(session=session, definition=definition)
    due = definition.next_run_ms
    upcoming = periods.next_due_ms(definition.schedule, zone, now_ms)
    moved = await session.execute(
        update(ReportDefinition)
        .where(ReportDefinition.id == definition_id, ReportDefinition.next_run_ms == due)
        .values(next_run_ms=upcoming)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    period = periods.latest_due(definition.schedule, zone, now_ms)
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
    await session.execute(delete(ReportRunSite).where(ReportRunSite.run_id.in_(old)))
    gone = await session.execute(delete(ReportRun).where(ReportRun.created_ms < cutoff))
    await session.execute(
        update(ReportRun)
        .where(ReportRun.status == "running", ReportRun.created_ms < now_ms - 3_600_000)
        .values(status="failed", error="interrupted: the process running it stopped")
    )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]
