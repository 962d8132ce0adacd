"""Demand-response events: create (with the baseline per interval), list, get, cancel, opt out.

Scope: an event belongs to its site; a principal that cannot see the site (or is limited to
some assets: a device key) gets ``NotFound``. Services flush; the caller commits and then
publishes the returned changes (``events.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.cbl import CblResult
from gridpilot.assets.models import Site
from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.db.base import utcnow
from gridpilot.dr.baseline import STEP_MS, event_baseline
from gridpilot.dr.models import DrEvent, DrEventInterval

#: The principal of the DR loop and of utility notifications: sees every site.
SYSTEM = Principal(subject="system:dr", name="gridpilot demand response", role=Role.ADMINISTRATOR)
STATUSES = ("scheduled", "active", "completed", "failed", "cancelled")
OPEN = ("scheduled", "active")
#: Longest event [ms]: one local day (25 h on the day clocks go back).
MAX_EVENT_MS = 25 * 3_600_000
#: The years events may lie in [epoch ms]: 2000-01-01 to 2100-01-01 UTC.
EARLIEST_MS, LATEST_MS = 946_684_800_000, 4_102_444_800_000


@dataclass(frozen=True)
class NewEvent:
    """What an event is made of, whatever its source."""

    site_id: int
    start_ms: int
    end_ms: int
    method: str
    target_reduction_kw: float | None = None
    target_reduction_pct: float | None = None
    signal_kind: str = "kw_target"
    signal_value: float | None = None
    opted_out: bool = False
    pass_pct: float = 100.0
    source: str = "manual"
    utility_id: int | None = None
    external_id: str | None = None
    created_by: str | None = None


def visible(principal: Principal, site_id: int) -> bool:
    return principal.can_see_site(site_id) and principal.asset_ids is None


def idempotency_key(new: NewEvent) -> str | None:
    if new.external_id is None:
        return None
    return f"{new.source}:{new.utility_id or '-'}:{new.external_id}:{new.site_id}"


def check_window(start_ms: int, end_ms: int) -> None:
    """Events run on whole 15-min intervals, for at most 25 h, in the years 2000 to 2099."""
    if not (start_ms >= EARLIEST_MS and end_ms <= LATEST_MS):
        raise ValidationFailed("events must lie in the years 2000 to 2099")
    if end_ms <= start_ms:
        raise ValidationFailed("event_end must be after event_start")
    if start_ms % STEP_MS or end_ms % STEP_MS:
        raise ValidationFailed("event_start and event_end must fall on 15-minute boundaries")
    if end_ms - start_ms > MAX_EVENT_MS:
        raise ValidationFailed("an event lasts at most one local day (25 h)")


async def excluded_days(
    *, session: AsyncSession, site: Site, before_ms: int, lookback_days: int = 70
) -> set[dt.date]:
    """Local days of the site's earlier events (not cancelled, not opted out): a baseline
    leaves them out."""
    rows = await session.execute(
        select(DrEvent.start_ms, DrEvent.end_ms).where(
            DrEvent.site_id == site.id,
            DrEvent.status != "cancelled",
            DrEvent.opted_out.is_(False),
            DrEvent.start_ms < before_ms,
            DrEvent.end_ms > before_ms - lookback_days * MS_PER_DAY,
        )
    )
    days: set[dt.date] = set()
    for start, end in rows:
        for ms in (start, end - 1):
            days.add(pd.Timestamp(ms, unit="ms", tz="UTC").tz_convert(site.timezone).date())
    return days


async def _existing(session: AsyncSession, key: str | None) -> DrEvent | None:
    if key is None:
        return None
    return (await session.scalars(select(DrEvent).where(DrEvent.idempotency_key == key))).first()


def _same(event: DrEvent, new: NewEvent) -> bool:
    return (event.start_ms, event.end_ms) == (new.start_ms, new.end_ms) and (
        new.target_reduction_kw is None or event.target_reduction_kw == new.target_reduction_kw
    )


async def create_event(
    *, session: AsyncSession, principal: Principal, new: NewEvent, now: int | None = None
) -> tuple[DrEvent, bool]:
    """Store an event with its baseline per interval; ``(event, created)``. A repeated
    ``external_id`` of the same source answers the event it made (``created`` False), or
    ``Conflict`` when the window or target differ. Baseline errors: ``NotEnoughDays`` (422)."""
    site = await get_site(session=session, site_id=new.site_id, principal=principal)
    if principal.asset_ids is not None:
        raise NotFound(f"site {new.site_id} not found")
    check_window(new.start_ms, new.end_ms)
    key = idempotency_key(new)
    existing = await _existing(session, key)
    if existing is not None:
        if not _same(existing, new):
            raise Conflict(
                f"external_id {new.external_id!r} already names event {existing.id} with "
                "another window or target",
                details={"event_id": existing.id},
            )
        return existing, False
    excluded = await excluded_days(session=session, site=site, before_ms=new.start_ms)
    result = await event_baseline(
        session=session, site=site, start_ms=new.start_ms, end_ms=new.end_ms,
        method=new.method, excluded=excluded, now_ms=now,
    )  # fmt: skip
    event = _event_row(new, result, key)
    session.add(event)
    await session.flush()
    session.add_all(_interval_rows(event, result))
    await session.flush()
    return event, True


def _unapplied(adjustment: dict[str, object]) -> bool:
    """A day-of adjustment the method has but that was not applied (no readings in its window
    yet, or none on the event's day: the record's ``note`` says which)."""
    return adjustment.get("kind", "none") != "none" and adjustment.get("applied") is None


async def refresh_baseline(*, session: AsyncSession, event: DrEvent, now_ms: int) -> bool:
    """Recompute a baseline made before its inputs were measured (a day-matching adjustment
    window, a weather regression's event temperatures: an event announced ahead), now that
    they are; whether it changed. The target
    reduction stays as announced; the intervals' baseline and target load follow."""
    if not _unapplied((event.baseline or {}).get("adjustment", {})):
        return False
    site = await get_site(session=session, site_id=event.site_id, principal=SYSTEM)
    excluded = await excluded_days(session=session, site=site, before_ms=event.start_ms)
    try:
        result = await event_baseline(
            session=session, site=site, start_ms=event.start_ms, end_ms=event.end_ms,
            method=event.baseline_method, excluded=excluded, now_ms=now_ms,
        )  # fmt: skip
    except ValidationFailed:
        return False
    if _unapplied(result.adjustment):
        return False
    fresh = {row.ts_ms: row for row in _interval_rows(event, result)}
    for row in await intervals(session=session, event_id=event.id):
        if row.ts_ms in fresh:
            row.baseline_kw = fresh[row.ts_ms].baseline_kw
            row.target_kw = fresh[row.ts_ms].target_kw
    event.baseline = result.record() | {"recomputed_ms": now_ms}
    await session.flush()
    return True


def _target_kw(new: NewEvent, result: CblResult) -> float:
    if new.target_reduction_kw is not None:
        return new.target_reduction_kw
    assert new.target_reduction_pct is not None
    target = new.target_reduction_pct / 100 * float(result.baseline_kw.mean())
    if not target > 0:
        raise ValidationFailed("the baseline is 0 kW: a percentage reduction of it is nothing")
    return round(target, 3)


def _event_row(new: NewEvent, result: CblResult, key: str | None) -> DrEvent:
    return DrEvent(
        site_id=new.site_id, start_ms=new.start_ms, end_ms=new.end_ms, step_ms=STEP_MS,
        target_reduction_kw=_target_kw(new, result), pass_pct=new.pass_pct,
        status="scheduled", source=new.source, utility_id=new.utility_id,
        external_id=new.external_id, idempotency_key=key, signal_kind=new.signal_kind,
        signal_value=new.signal_value, target_reduction_pct=new.target_reduction_pct,
        opted_out=new.opted_out, baseline_method=result.method, baseline=result.record(),
        created_by=new.created_by, created_at=utcnow(), updated_ms=now_ms(),
    )  # fmt: skip


def _interval_rows(event: DrEvent, result: CblResult) -> list[DrEventInterval]:
    stamps = pd.DatetimeIndex(result.baseline_kw.index).as_unit("ms").asi8
    values = result.baseline_kw.to_numpy(dtype="float64")
    return [
        DrEventInterval(
            event_id=event.id,
            ts_ms=int(ts),
            baseline_kw=round(float(kw), 6),
            target_kw=round(max(0.0, float(kw) - event.target_reduction_kw), 6),
        )
        for ts, kw in zip(stamps, values, strict=True)
    ]


async def get_event(*, session: AsyncSession, principal: Principal, event_id: int) -> DrEvent:
    event = await session.get(DrEvent, event_id)
    if event is None or not visible(principal, event.site_id):
        raise NotFound(f"DR event {event_id} not found")
    return event


async def intervals(*, session: AsyncSession, event_id: int) -> list[DrEventInterval]:
    query = select(DrEventInterval).where(DrEventInterval.event_id == event_id)
    return list((await session.scalars(query.order_by(DrEventInterval.ts_ms))).all())


async def list_events(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    status: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DrEvent]:
    """Events the principal may see, newest start first; ``start_ms``/``end_ms``: those that
    overlap ``[start_ms, end_ms)``."""
    if principal.asset_ids is not None:
        return []
    query = select(DrEvent).order_by(DrEvent.start_ms.desc(), DrEvent.id.desc())
    if principal.site_ids is not None:
        query = query.where(DrEvent.site_id.in_(principal.site_ids))
    if site_id is not None:
        query = query.where(DrEvent.site_id == site_id)
    if status is not None:
        query = query.where(DrEvent.status == status)
    if start_ms is not None:
        query = query.where(DrEvent.end_ms > start_ms)
    if end_ms is not None:
        query = query.where(DrEvent.start_ms < end_ms)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def cancel_event(
    *, session: AsyncSession, event: DrEvent, reason: str | None, actor: str, at_ms: int
) -> str:
    """Cancel a scheduled or active event; the previous status. ``Conflict`` once ended."""
    if event.status not in OPEN:
        raise Conflict(f"DR event {event.id} is {event.status}: only scheduled or active events "
                       "can be cancelled")  # fmt: skip
    previous = event.status
    event.status = "cancelled"
    event.status_reason = f"cancelled by {actor}" + (f": {reason}" if reason else "")
    event.updated_ms = at_ms
    await session.flush()
    return previous


async def set_opt_out(*, session: AsyncSession, event: DrEvent, opt_out: bool, at_ms: int) -> None:
    """Opt the site in or out of an event that has not ended."""
    if event.status not in OPEN or event.end_ms <= at_ms:
        raise Conflict(f"DR event {event.id} has ended ({event.status})")
    event.opted_out = opt_out
    event.updated_ms = at_ms
    await session.flush()
