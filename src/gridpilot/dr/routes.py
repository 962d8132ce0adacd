"""Demand-response routes: ``router`` under /api/v1; ``seed_router`` at the facility seed's paths
(``/api/dr-events``, ``/webhooks/utility/dr-notification``).

Events: operators (CONFIGURE) create, cancel and opt out; viewers read. Another site's event is
404. Answers use ISO-8601 UTC; see docs/demand-response.md for bodies and errors.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import MAX_MS, from_ms, now_ms, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.dr import dispatch, events, service
from gridpilot.dr.dispatch_schemas import DrEventDetail
from gridpilot.dr.facility_routes import facility_router
from gridpilot.dr.models import DrEvent, DrEventInterval
from gridpilot.dr.schemas import (
    BaselinePoint,
    CancelRequest,
    DrEventCreate,
    DrEventCreated,
    DrEventOut,
    IntervalOut,
    OptRequest,
    Signal,
    Status,
)
from gridpilot.dr.webhook_routes import utility_router, webhook_router

router = APIRouter(tags=["demand response"])
seed_router = APIRouter(tags=["demand response"])

EventId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]
TimeQuery = Annotated[
    str | None, Query(max_length=64, description="ISO-8601 (UTC without offset) or epoch ms")
]


def event_out(
    event: DrEvent, rows: list[DrEventInterval] | None = None, *, detail: bool = False
) -> DrEventOut:
    return DrEventOut(
        id=event.id, site_id=event.site_id, start=from_ms(event.start_ms),
        end=from_ms(event.end_ms), status=event.status,
        status_reason=event.status_reason, source=event.source,
        utility_id=event.utility_id, external_id=event.external_id,
        signal=Signal(kind=event.signal_kind, value=event.signal_value),
        opt_out=event.opted_out, target_reduction_kw=event.target_reduction_kw,
        target_reduction_pct=event.target_reduction_pct,
        achieved_reduction_kw=event.achieved_reduction_kw,
        performance_pct=event.performance_pct, pass_pct=event.pass_pct,
        baseline_method=event.baseline_method, created_by=event.created_by,
        created_at=event.created_at,
        intervals=[interval_out(r) for r in rows] if rows is not None else None,
        baseline=event.baseline if detail else None,
    )  # fmt: skip


def interval_out(row: DrEventInterval) -> IntervalOut:
    return IntervalOut(
        timestamp=from_ms(row.ts_ms), baseline_kw=row.baseline_kw, target_kw=row.target_kw,
        metered_kw=row.metered_kw, reduction_kw=row.reduction_kw,
    )  # fmt: skip


@seed_router.post(
    "/api/dr-events",
    status_code=201,
    summary="Create a demand-response event (facility seed)",
    description="The seed's request `{facility_id, event_start, event_end, target_reduction_kw}` "
    "(operators, or an operator API key limited to the site): stores the event and answers its "
    "id and the calculated baseline load per 15-min interval. Optional: `baseline_method` "
    "(default `caiso_10in10`), `signal`, `opt_out`, `pass_pct`, `external_id` (a repeated "
    "request with the same id answers the same event, 201 as well). Not enough history for the "
    "method: 422 `cbl_not_enough_days` with the days found and needed.",
)
async def create_event(
    data: DrEventCreate, principal: Configurer, session: SessionDep, request: Request
) -> DrEventCreated:
    start_ms, end_ms = data.window_ms()
    new = service.NewEvent(
        site_id=data.facility_id, start_ms=start_ms, end_ms=end_ms,
        method=data.baseline_method, target_reduction_kw=data.target_reduction_kw,
        signal_kind=data.signal.kind, signal_value=data.signal.value, opted_out=data.opt_out,
        pass_pct=data.pass_pct, external_id=data.external_id, created_by=principal.subject,
    )  # fmt: skip
    event, created = await service.create_event(session=session, principal=principal, new=new)
    rows = await service.intervals(session=session, event_id=event.id)
    answer = DrEventCreated(
        event_id=event.id, facility_id=event.site_id, event_start=from_ms(event.start_ms),
        event_end=from_ms(event.end_ms), target_reduction_kw=event.target_reduction_kw,
        status=event.status, baseline_method=event.baseline_method,
        baseline_load=[BaselinePoint(timestamp=from_ms(r.ts_ms), baseline_kw=r.baseline_kw)
                       for r in rows],
    )  # fmt: skip
    if created:
        await session.commit()  # published only once stored
        await events.publish(runtime_of(request.app).bus, [events.changed(event, None, now_ms())])
    return answer


def _time(value: str | None) -> int | None:
    if value is None:
        return None
    ms = to_ms(value)
    if not 0 <= ms <= MAX_MS:
        raise ValidationFailed("start and end must lie between 1970 and 9999")
    return ms


@router.get(
    "/dr-events",
    summary="List demand-response events",
    description="Events of the sites you may see, newest start first; `start`/`end` keep those "
    "overlapping the period.",
)
async def list_events(
    principal: Reader,
    session: SessionDep,
    site_id: OptionalId = None,
    status: Status | None = None,
    start: TimeQuery = None,
    end: TimeQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DrEventOut]:
    found = await service.list_events(
        session=session, principal=principal, site_id=site_id, status=status,
        start_ms=_time(start), end_ms=_time(end), limit=limit, offset=offset,
    )  # fmt: skip
    return [event_out(e) for e in found]


@router.get(
    "/dr-events/{event_id}",
    summary="Get a demand-response event with its intervals and dispatch",
    description="Per 15-min interval: baseline, target load, metered consumption and achieved "
    "reduction (once the interval ended) [kW]; the performance [% of target] once completed; "
    "the baseline record (method, days used, adjustment); the dispatch (null until the event "
    "is dispatched): the plan (planned reduction, shortfall, cost, pre-event demand) and each "
    "command with its state.",
    responses={404: {"description": "No such event, or another site's"}},
)
async def get_event(event_id: EventId, principal: Reader, session: SessionDep) -> DrEventDetail:
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    rows = await service.intervals(session=session, event_id=event.id)
    plan = await dispatch.dispatch_of(session=session, event_id=event.id)
    return DrEventDetail(**dict(event_out(event, rows, detail=True)), dispatch=plan)


@router.post(
    "/dr-events/{event_id}/cancel",
    summary="Cancel a demand-response event",
    description="A scheduled or active event becomes cancelled (409 once it has ended).",
)
async def cancel_event(
    event_id: EventId,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    data: CancelRequest | None = None,
) -> DrEventOut:
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    at = now_ms()
    previous = await service.cancel_event(
        session=session, event=event, reason=data.reason if data else None,
        actor=principal.subject, at_ms=at,
    )  # fmt: skip
    await session.commit()
    await events.publish(runtime_of(request.app).bus, [events.changed(event, previous, at)])
    return event_out(event)


@router.post(
    "/dr-events/{event_id}/opt",
    summary="Opt a site in or out of an event",
    description="An opted-out event is still measured but never judged failed (409 once ended).",
)
async def opt_event(
    event_id: EventId, data: OptRequest, principal: Configurer, session: SessionDep
) -> DrEventOut:
    event = await service.get_event(session=session, principal=principal, event_id=event_id)
    await service.set_opt_out(session=session, event=event, opt_out=data.opt_out, at_ms=now_ms())
    return event_out(event)


router.include_router(utility_router)
seed_router.include_router(webhook_router)
seed_router.include_router(facility_router)
