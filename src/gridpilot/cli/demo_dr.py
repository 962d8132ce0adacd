"""The demo's demand response: the office building's flexible resources and an event to watch.

``prepare(sessions, now_ms)`` (idempotent) gives the simulated office building two flexible
resources, its HVAC setpoint offset (``DEMO_HVAC``) and its lighting as a curtailable load
(``DEMO_LIGHTING``), and schedules a DR event starting at the first quarter hour at least
``LEAD_MIN`` minutes ahead, for ``DURATION_MIN`` minutes, a target of ``TARGET_PCT`` of the
baseline, with the CAISO 10-in-10 baseline
(5 weekdays of history suffice; the demo backfills 14 days). A re-run that finds an open demo
event keeps it; one after it has ended schedules a new one. Everything goes through the flex
and dr services, as the API does.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.analytics.cbl import NotEnoughDays
from gridpilot.assets.service import list_assets, list_sites
from gridpilot.core.timestamps import from_ms
from gridpilot.dr import service as dr
from gridpilot.flex import service as flex
from gridpilot.flex.schemas import CurtailableLoadCreate, HvacCreate

SITE = "Sim office building (Milan)"
EXTERNAL_PREFIX = "gridpilot-demo-"
LEAD_MIN, DURATION_MIN = 5, 60
#: The target: 5 % of the baseline, which the lighting alone gives day and night (3 kW of an
#: empty office's ~40 kW at night, ~35 kW of a full one's ~250 kW by day).
TARGET_PCT = 5.0
METHOD = "caiso_10in10"
QUARTER_MS = 900_000
#: About the simulated HVAC's 6 %/K of its thermal load in a full office (sim/buildings.py).
DEMO_HVAC = {"kw_per_degc": 2.0, "max_offset_degc": 2.0, "max_duration_min": 120}
DEMO_LIGHTING = {"shed_kw": 20.0, "max_duration_min": 120, "cost_eur_per_kwh": 0.5}


async def _resources(session: AsyncSession, site_id: int) -> list[str]:
    """Create the two resources that are missing; their names."""
    have = {r.name for r in await flex.list_resources(session=session, site_id=site_id)}
    assets = {a.name: a.id for a in await list_assets(session=session, principal=dr.SYSTEM,
                                                      site_id=site_id)}  # fmt: skip
    wanted: list[HvacCreate | CurtailableLoadCreate] = [
        HvacCreate.model_validate({"kind": "hvac", "name": "HVAC setpoint offset",
                                   "asset_id": assets.get("Building HVAC"), "params": DEMO_HVAC}),
        CurtailableLoadCreate.model_validate({"kind": "curtailable_load", "name": "Lighting",
                                              "asset_id": assets.get("Lighting"),
                                              "params": DEMO_LIGHTING}),
    ]  # fmt: skip
    for data in wanted:
        if data.name not in have:
            await flex.create_resource(session=session, site_id=site_id, data=data, principal=None)
    return [d.name for d in wanted]


def event_window(now_ms: int, zone: ZoneInfo) -> tuple[int, int]:
    """``[start, end)`` [epoch ms] of the demo event: the first quarter hour at least
    ``LEAD_MIN`` minutes ahead, ``DURATION_MIN`` long, within one local day of the site: cut at
    midnight, or after it when less than half would be left. DR accepts events across midnight
    (baselined day by day); the demo keeps one day so its event page shows one baseline day.
    """
    start = -(-(now_ms + LEAD_MIN * 60_000) // QUARTER_MS) * QUARTER_MS
    end = start + DURATION_MIN * 60_000
    local_start = from_ms(start).astimezone(zone)
    next_day = (local_start + dt.timedelta(days=1)).date()
    midnight = dt.datetime.combine(next_day, dt.time(), tzinfo=zone)
    midnight_ms = int(midnight.timestamp() * 1000)
    if end <= midnight_ms:
        return start, end
    if (midnight_ms - start) * 2 >= DURATION_MIN * 60_000:
        return start, midnight_ms
    return midnight_ms, midnight_ms + DURATION_MIN * 60_000


async def prepare(sessions: async_sessionmaker[AsyncSession], now_ms: int) -> str:
    """Resources and an event on the demo's office building; a line for the demo's panel."""
    async with sessions() as session, session.begin():
        site = next(
            (s for s in await list_sites(session=session, principal=dr.SYSTEM) if s.name == SITE),
            None,
        )
        if site is None:
            return "demand response: no simulated office building"
        await _resources(session, site.id)
        open_events = [
            e
            for status in dr.OPEN
            for e in await dr.list_events(
                session=session, principal=dr.SYSTEM, site_id=site.id, status=status
            )
            if (e.external_id or "").startswith(EXTERNAL_PREFIX)
        ]
        if open_events:
            event = open_events[0]
        else:
            start, end = event_window(now_ms, ZoneInfo(site.timezone))
            new = dr.NewEvent(
                site_id=site.id, start_ms=start, end_ms=end,
                method=METHOD, target_reduction_pct=TARGET_PCT,
                external_id=EXTERNAL_PREFIX + from_ms(start).strftime("%Y-%m-%dT%H:%MZ"),
                created_by="gridpilot demo",
            )  # fmt: skip
            try:
                event, _ = await dr.create_event(
                    session=session, principal=dr.SYSTEM, new=new, now=now_ms
                )
            except NotEnoughDays as exc:
                return f"demand response: no demo event ({exc.message}; use --days 14)"
    minutes = max(0, round((event.start_ms - now_ms) / 60_000))
    return (
        f"demand response: event {event.id} on the office building in {minutes} min "
        f"({event.target_reduction_kw:,.1f} kW for {(event.end_ms - event.start_ms) // 60_000} "
        f"min): /dr/{event.id}"
    )
