"""The site's flexible resources as dispatch candidates: what ``dispatch_plan.candidate`` needs
of each resource's asset is read here (kind, attributes, rating, SOC, the power it draws, the
energy this event held back from it), and resources without an asset or under a manual
command are left out with a note.

A dimmed or deferred load's **draw** is the newest ``power_kw`` reading of its asset, at most
``DRAW_MAX_AGE_MS`` old, until this plan has limited it: from then on its own readings show
the limit, not what it would draw, so the draw the plan recorded when it first sent a limit
(``limit + reduction`` of that step) is used for every later revision and for the restore.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import dr_dispatch as dd
from gridpilot.assets.service import get_asset, get_site
from gridpilot.core.timestamps import MS_PER_HOUR
from gridpilot.dr import dispatch_checks as checks
from gridpilot.dr.dispatch_plan import (
    DRAW_MAX_AGE_MS,
    AssetState,
    Candidate,
    EventSpan,
    candidate,
)
from gridpilot.dr.models import DrDispatchStep, DrEvent
from gridpilot.dr.service import SYSTEM
from gridpilot.flex import service as flex
from gridpilot.telemetry.service import latest_values

#: Resource kinds whose draw is read (dimmed lighting, deferred loads).
DRAWN = ("curtailable_load", "deferrable_load")


def _sent(s: DrDispatchStep) -> bool:
    return s.phase == "shed" and s.command_id is not None and s.state in checks.HELD


def recorded_draws(steps: list[DrDispatchStep]) -> dict[int, float]:
    """Per resource the draw [kW] recorded by its first power limit sent (``limit_kw`` +
    the reduction it held)."""
    out: dict[int, float] = {}
    for s in steps:  # by start time
        limit = s.command_params.get("limit_kw")
        if not (_sent(s) and s.resource_kind in DRAWN and s.resource_id is not None):
            continue
        if s.reduction_kw > dd.EPS_KW and isinstance(limit, int | float):
            out.setdefault(s.resource_id, round(float(limit) + s.reduction_kw, 6))
    return out


def held_back_kwh(steps: list[DrDispatchStep], now_ms: int) -> dict[int, float]:
    """Per resource the energy its sent shed steps held back before ``now_ms`` [kWh] (each
    step from its start to the next one of the same resource, or its end)."""
    sent = [s for s in steps if _sent(s) and s.resource_id is not None]
    out: dict[int, float] = {}
    for i, s in enumerate(sent):
        assert s.resource_id is not None
        after = [x.start_ms for x in sent[i + 1 :] if x.resource_id == s.resource_id]
        until = min([s.end_ms, now_ms, *after])
        hours = max(0, until - s.start_ms) / MS_PER_HOUR
        out[s.resource_id] = out.get(s.resource_id, 0.0) + s.reduction_kw * hours
    return out


async def measured_draw_kw(*, session: AsyncSession, asset_id: int, now_ms: int) -> float | None:
    """The asset's newest ``power_kw`` [kW] when at most ``DRAW_MAX_AGE_MS`` old (and not
    ahead of ``now_ms`` by more than a minute), else None."""
    found = await latest_values(session=session, asset_id=asset_id, metric_keys=["power_kw"])
    latest = found.get("power_kw")
    if latest is None or not -60_000 <= now_ms - latest.ts_ms <= DRAW_MAX_AGE_MS:
        return None
    return max(0.0, latest.value)


async def candidates(
    session: AsyncSession,
    event: DrEvent,
    starts_ms: list[int],
    *,
    exclude: set[int],
    now_ms: int,
    steps: list[DrDispatchStep],
    releasing: bool = False,
) -> tuple[list[Candidate], list[str]]:
    """The site's enabled resources the plan may use over ``starts_ms``, and notes on those it
    may not (``steps``: the plan's steps so far, for recorded draws and held-back energy;
    ``releasing``: for the restore, see ``dispatch_plan.candidate``)."""
    notes: list[str] = []
    out: list[Candidate] = []
    site = await get_site(session=session, site_id=event.site_id, principal=SYSTEM)
    span = EventSpan(starts_ms, event.step_ms, event.end_ms, site.timezone)
    draws = recorded_draws(steps)
    held_back = held_back_kwh(steps, now_ms)
    for r in await flex.list_resources(session=session, site_id=event.site_id, enabled_only=True):
        if r.id in exclude:
            continue
        if r.asset_id is None:
            notes.append(f"{r.name}: no linked asset to command")
            continue
        manual = await checks.manual_command(session=session, asset_id=r.asset_id, now_ms=now_ms)
        if manual is not None:
            notes.append(f"{r.name}: manual command {manual} is in force: it wins")
            continue
        asset = await get_asset(session=session, asset_id=r.asset_id, principal=SYSTEM)
        soc = draw = None
        if r.kind == "battery":
            found = await flex.measured_soc_pct(session=session, asset_id=r.asset_id, now_ms=now_ms)
            soc = None if found is None else found[0]
        if r.kind in DRAWN:
            draw = draws.get(r.id)
            if draw is None:
                draw = await measured_draw_kw(session=session, asset_id=r.asset_id, now_ms=now_ms)
        state = AssetState(
            kind=asset.kind, attributes=dict(asset.attributes or {}),
            rated_kw=asset.rated_capacity_kw, draw_kw=draw, soc_pct=soc,
            deferred_kwh=held_back.get(r.id, 0.0),
        )  # fmt: skip
        c = candidate(r, span=span, asset=state, releasing=releasing)
        if isinstance(c, str):
            notes.append(c)
            continue
        out.append(c)
    return out, notes
