"""Plan a site's schedule now, store it, serve the latest one.

``plan_schedule`` gathers the inputs (``inputs.py``), builds the problem (``planning.py``),
solves it with the pure optimiser on HiGHS in a worker thread (the event loop keeps serving),
prices the plan against the no-battery and rule-based references (``analytics.flex.savings``)
and stores it. An infeasible problem is not an error: it is stored and answered with status
``fallback``, the conflicting constraints and the safe fallback plan. Missing inputs (no
forecast, no tariff) are a ``Conflict`` (409) naming each one. Schedules older than
``KEEP_MS`` are deleted when a site gets a new one.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.flex import FlexProblem, Schedule, money, optimise, savings
from gridpilot.assets.models import Site
from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import Conflict, NotFound
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY
from gridpilot.flex.inputs import (
    QUARTER_MS,
    Horizon,
    Prices,
    forecasts_on_steps,
    incumbent_peak_kw,
    measured_soc_pct,
    tariff_prices,
)
from gridpilot.flex.models import FlexSchedule
from gridpilot.flex.planning import Problem, SiteData, build_problem
from gridpilot.flex.resources import list_resources
from gridpilot.flex.schedule_schemas import ScheduleOut, ScheduleRequest
from gridpilot.flex.schemas import BatteryParams, ResourceOut
from gridpilot.flex.series import schedule_out, series_of
from gridpilot.flex.shiftable import without_shiftable
from gridpilot.insights.data import SYSTEM
from gridpilot.insights.forecasts.weather import WeatherSource

#: Stored schedules are kept this long [ms].
KEEP_MS = 7 * MS_PER_DAY
#: The optimiser's time limit per solve [s] (the diagnosis may solve once more).
SOLVE_TIME_LIMIT_S = 10.0


async def _site(session: AsyncSession, site_id: int, principal: Principal | None) -> Site:
    site = await get_site(session=session, site_id=site_id, principal=principal or SYSTEM)
    if principal is not None and principal.asset_ids is not None:
        raise NotFound(f"site {site_id} not found")
    return site


def _export_prices(request: ScheduleRequest, prices: Prices) -> tuple[np.ndarray, dict[str, Any]]:
    """The export price [EUR/kWh] of each step: the request's flat price when it gives one,
    else the tariff's (0 where no version agrees one), and where it came from."""
    flat = request.export_price_eur_per_kwh
    if flat is not None:
        return np.full(prices.export_eur_per_kwh.shape, flat), {
            "source": "request",
            "eur_per_kwh": flat,
        }
    if not prices.export_agreed:
        note = "the tariff agrees no export price: exported energy earns 0"
        return prices.export_eur_per_kwh, {"source": "tariff", "note": note}
    return prices.export_eur_per_kwh, {"source": "tariff"}


async def _site_data(
    session: AsyncSession,
    site: Site,
    resources: list[ResourceOut],
    request: ScheduleRequest,
    *,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None,
) -> tuple[SiteData, dict[str, Any]]:
    step_ms = request.step_min * 60_000
    horizon = Horizon(
        now_ms - now_ms % QUARTER_MS, step_ms, request.horizon_h * 3_600_000 // step_ms
    )
    forecasts, sources, missing = await forecasts_on_steps(
        session=session, site=site, horizon=horizon, now_ms=now_ms, settings=settings,
        weather=weather,
    )  # fmt: skip
    reasons = {f"{q} forecast": why for q, why in missing.items()}
    prices = await tariff_prices(session=session, site=site, horizon=horizon)
    if prices is None:
        reasons["tariff"] = (
            "the site has no tariff valid over the horizon: add one under "
            f"/api/v1/sites/{site.id}/tariffs, or dynamic prices for every step under "
            f"/api/v1/sites/{site.id}/prices"
        )
    if reasons or prices is None:
        listed = "; ".join(f"{what}: {why}" for what, why in reasons.items())
        raise Conflict(
            f"site {site.id} cannot be planned, missing {', '.join(reasons)} ({listed})",
            details={"missing": sorted(reasons), "reasons": reasons},
        )
    load, removed, notes = await without_shiftable(
        session=session, resources=resources, load_kw=forecasts["consumption"], horizon=horizon,
        now_ms=now_ms, settings=settings, weather=weather,
    )  # fmt: skip
    incumbent = 0.0
    if prices.demand_charge_eur_per_kw > 0:
        incumbent = await incumbent_peak_kw(session=session, site=site, until_ms=horizon.start_ms)
    soc: dict[int, tuple[float, int]] = {}
    for r in resources:
        if isinstance(r.params, BatteryParams) and r.asset_id is not None:
            found = await measured_soc_pct(session=session, asset_id=r.asset_id, now_ms=now_ms)
            if found is not None:
                soc[r.id] = found
    exports, export_source = _export_prices(request, prices)
    data = SiteData(
        timezone=site.timezone,
        horizon=horizon,
        load_kw=load,
        pv_kw=forecasts["generation"],
        import_price_eur_per_kwh=prices.import_eur_per_kwh,
        export_price_eur_per_kwh=exports,
        demand_charge_eur_per_kw=prices.demand_charge_eur_per_kw,
        incumbent_peak_kw=incumbent,
        contract_demand_kw=site.contract_demand_kw,
        soc_pct=soc,
    )
    inputs = {
        "forecasts": sources,
        "tariff_versions_from": prices.tariff_valid_from,
        "dynamic_price_steps": prices.dynamic_steps,
        "demand_charge_eur_per_kw_month": prices.demand_charge_eur_per_kw,
        "incumbent_peak_kw": round(incumbent, 4),
        "contract_demand_kw": site.contract_demand_kw,
        "export_price": export_source,
        "shiftable_removed_kw_mean": removed,
        "shiftable_notes": notes,
    }
    return data, inputs


def _solve(problem: FlexProblem) -> tuple[Schedule, dict[str, str]]:
    plan = optimise(problem, time_limit_s=SOLVE_TIME_LIMIT_S)
    report = savings(problem, plan).report()
    return plan, {name: str(value) for name, value in report.items()}


def _conflicts(plan: Schedule, built: Problem) -> list[dict[str, Any]]:
    found = []
    for c in plan.conflicts:
        kind, _, name = c.group.partition(":")
        label = built.label.get(name, name)  # ev_deadline:ev:3:0 -> ev_deadline:<resource>
        message = c.message
        if name:
            message = message.replace(repr(name), repr(label))
        group = f"{kind}:{label}" if name else kind
        shortfall = round(c.shortfall, 6) if math.isfinite(c.shortfall) else None
        found.append({"group": group, "shortfall": shortfall, "unit": c.unit, "message": message})
    return found


async def plan_schedule(
    *,
    session: AsyncSession,
    site_id: int,
    request: ScheduleRequest,
    principal: Principal | None,
    settings: Settings,
    now_ms: int,
    weather: WeatherSource | None = None,
    actor: str = "system:flex",
) -> ScheduleOut:
    """Plan the site from the quarter hour holding ``now_ms`` and store the schedule (needs
    CONFIGURE; ``actor`` names an internal caller). ``Conflict`` when forecasts or the tariff
    are missing."""
    if principal is not None:
        principal.require(Permission.CONFIGURE)
    site = await _site(session, site_id, principal)
    resources = await list_resources(session=session, site_id=site_id, enabled_only=True)
    data, inputs = await _site_data(
        session, site, resources, request, now_ms=now_ms, settings=settings, weather=weather
    )
    extra_notes = inputs.pop("shiftable_notes")
    built = build_problem(resources, data)
    plan, report = await asyncio.to_thread(_solve, built.problem)
    inputs = {**inputs, "export_limit_kw": built.export_limit_kw, "batteries": built.soc}
    cost = plan.cost
    parts = {
        "energy_eur": cost.energy_eur,
        "demand_charge_eur": cost.demand_charge_eur,
        "wear_eur": cost.wear_eur,
        "shed_eur": cost.shed_eur,
        "total_eur": cost.total_eur,
    }
    row = FlexSchedule(
        site_id=site_id,
        created_ms=now_ms,
        created_by=principal.subject if principal is not None else actor,
        start_ms=data.horizon.start_ms,
        step_s=data.horizon.step_ms // 1000,
        horizon=data.horizon.steps,
        status="fallback" if plan.is_fallback else "optimal",
        solver_status=plan.status,
        objective_eur=str(money(cost.total_eur)),
        cost={name: str(money(value)) for name, value in parts.items()},
        savings=report,
        conflicts=_conflicts(plan, built),
        message=plan.message[:4000],
        inputs=inputs,
        notes=[*built.notes, *extra_notes],
        series=series_of(built, plan),
        solve_time_ms=round(plan.solve_time_s * 1000),
    )
    session.add(row)
    await session.execute(
        delete(FlexSchedule).where(
            FlexSchedule.site_id == site_id, FlexSchedule.created_ms < now_ms - KEEP_MS
        )
    )
    await session.flush()
    return schedule_out(row)


async def get_latest_schedule(
    *, session: AsyncSession, site_id: int, principal: Principal | None = None
) -> ScheduleOut:
    """The site's newest stored schedule; ``NotFound`` with a hint when there is none."""
    await _site(session, site_id, principal)
    query = (
        select(FlexSchedule)
        .where(FlexSchedule.site_id == site_id)
        .order_by(FlexSchedule.created_ms.desc(), FlexSchedule.id.desc())
        .limit(1)
    )
    row = (await session.scalars(query)).first()
    if row is None:
        raise NotFound(
            f"site {site_id} has no schedule yet: POST /api/v1/sites/{site_id}/schedule plans one"
        )
    return schedule_out(row)
