"""Report runs: build and store a run's files, list and serve them, claim due scheduled runs
(compare-and-set), prune past the retention. ``service`` re-exports what other modules use.
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
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import GridpilotError, NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.reports import periods
from gridpilot.reports.access import check_scope
from gridpilot.reports.kinds import BuildContext, get_kind
from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun

#: Longest period of one run [days] (the KPI service's limit at 15 min is 416 days).
MAX_PERIOD_DAYS = 400


class PeriodInvalid(ValidationFailed):
    code = "report_period_invalid"


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
    check_scope(principal, run.site_id)
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
