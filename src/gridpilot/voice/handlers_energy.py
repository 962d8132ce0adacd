"""Handlers of the energy intents: energy, current power, machines over a power, top consumers,
peak demand, cost and CO2. Each takes the query's context and slots and returns a spoken
``Answer``; the figures come from the owning domains' services (telemetry energy, the KPI
service, the current balance), never from a query of their tables.
"""

from __future__ import annotations

from typing import Any

from gridpilot.assets.catalogue import LOAD_ROLES
from gridpilot.balance.current import DEFAULT_MAX_AGE_MS, load_current_inputs
from gridpilot.core.timestamps import to_ms
from gridpilot.insights.kpis.current import current_demand
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.telemetry.energy_batch import energies
from gridpilot.telemetry.service import energy
from gridpilot.voice.scope import (
    Answer,
    Context,
    Scope,
    assets_of,
    interval_text,
    local_time,
    resolve,
    sites_of,
    window,
)
from gridpilot.voice.speech import amount, listing, money, period, say

#: Consumers named in a list answer (top consumers, machines over a power).
LISTED = 3


async def _kpis(
    ctx: Context, scope: Scope, start_ms: int, end_ms: int, figure: str
) -> dict[str, Any]:
    """The KPI service's ``figure`` (and what it computed with it) of the asset or site over
    ``[start_ms, end_ms)``: the same figure as ``GET /api/v1/kpis``, without the others' work."""
    found = await compute_kpis(
        session=ctx.session,
        principal=ctx.principal,
        start_ms=start_ms,
        end_ms=end_ms,
        max_gap_s=ctx.settings.energy_max_gap_s,
        asset_id=scope.id if scope.kind == "asset" else None,
        site_id=scope.id if scope.kind == "site" else None,
        figures=(figure,),
    )
    return dict(found["kpis"])


async def _energy_kwh(ctx: Context, scope: Scope, start_ms: int, end_ms: int) -> float | None:
    if scope.kind == "asset":
        result = await energy(
            session=ctx.session,
            asset_id=scope.id,
            start_ms=start_ms,
            end_ms=end_ms,
            max_gap_s=ctx.settings.energy_max_gap_s,
        )
        return result.energy_kwh
    figure = (await _kpis(ctx, scope, start_ms, end_ms, "energy_kwh")).get("energy_kwh") or {}
    return figure.get("value")


async def energy_consumption(ctx: Context, slots: dict[str, Any]) -> Answer:
    """Energy [kWh] of an asset or a site over the period (default today)."""
    scope = await resolve(ctx, slots.get("target"))
    key = slots.get("timeframe") or "today"
    start, end = window(key, scope.timezone, ctx.now_ms)
    span = interval_text(start, end, scope.timezone)
    value = await _energy_kwh(ctx, scope, start, end)
    when = period(key, ctx.lang)
    if value is None:
        text = say("energy_none", ctx.lang, name=scope.name, period=when)
        return Answer(text, None, "kWh", span, "no_data")
    text = say("energy", ctx.lang, name=scope.name, amount=amount(value, "kWh", ctx.lang),
               period=when)  # fmt: skip
    return Answer(text, round(value, 3), "kWh", span)


async def fresh_power(ctx: Context, site_ids: list[int]) -> dict[int, tuple[str, float]]:
    """Each visible load asset's newest fresh power reading [kW] (name, value) by asset id."""
    inputs = await load_current_inputs(session=ctx.session, site_ids=site_ids, now_ms=ctx.now_ms)
    allowed = ctx.principal.asset_ids
    found: dict[int, tuple[int, str, float]] = {}
    for row in inputs.series:
        if row.value is None or row.role not in LOAD_ROLES:
            continue
        if allowed is not None and row.asset_id not in allowed:
            continue
        if not row.fresh(ctx.now_ms, DEFAULT_MAX_AGE_MS):
            continue
        if row.asset_id not in found or row.prio < found[row.asset_id][0]:
            found[row.asset_id] = (row.prio, row.name, row.value)
    return {asset: (name, value) for asset, (_, name, value) in found.items()}


async def current_power(ctx: Context, slots: dict[str, Any]) -> Answer:
    """Power now [kW] of an asset (its newest fresh reading) or a site (its current demand)."""
    scope = await resolve(ctx, slots.get("target"))
    span = interval_text(ctx.now_ms, ctx.now_ms, scope.timezone)
    value: float | None
    if scope.kind == "asset":
        value = (await fresh_power(ctx, [scope.site_id])).get(scope.id, ("", None))[1]
    else:
        now = await current_demand(
            session=ctx.session, site_id=scope.id, principal=ctx.principal,
            cache=ctx.balance_cache,
        )  # fmt: skip
        value = now.get("current_demand_kw")
    if value is None:
        return Answer(say("power_none", ctx.lang, name=scope.name), None, "kW", span, "no_data")
    text = say("power", ctx.lang, name=scope.name, amount=amount(value, "kW", ctx.lang))
    return Answer(text, round(value, 3), "kW", span)


async def machines_above_power(ctx: Context, slots: dict[str, Any]) -> Answer:
    """The visible machines drawing more than ``power_kw`` now, highest first."""
    limit = float(slots["power_kw"])
    sites = await sites_of(ctx)
    power = await fresh_power(ctx, [s.id for s in sites]) if sites else {}
    over = sorted(((v, n) for n, v in power.values() if v > limit), key=lambda p: (-p[0], p[1]))
    spoken_limit = amount(limit, "kW", ctx.lang)
    span = interval_text(ctx.now_ms, ctx.now_ms, sites[0].timezone if sites else "UTC")
    if not over:
        return Answer(say("above_none", ctx.lang, limit=spoken_limit), 0, "machines", span)
    at = " a " if ctx.lang == "it" else " at "
    items = [f"{name}{at}{amount(value, 'kW', ctx.lang)}" for value, name in over[:LISTED]]
    if len(over) > LISTED:
        items.append(f"{len(over) - LISTED} " + ("altre" if ctx.lang == "it" else "more"))
    if ctx.lang == "it":
        count = "Una macchina è" if len(over) == 1 else f"{len(over)} macchine sono"
    else:
        count = "One machine is" if len(over) == 1 else f"{len(over)} machines are"
    text = say("above", ctx.lang, count=count, limit=spoken_limit, items=listing(items, ctx.lang))
    return Answer(text, len(over), "machines", span)


async def top_consumers(ctx: Context, slots: dict[str, Any]) -> Answer:
    """The visible consumers using the most energy [kWh] over the period (default today), each
    by ``telemetry.energy`` (as ``GET /api/v1/kpis?asset=``), all in a few statements."""
    key = slots.get("timeframe") or "today"
    assets = [a for a in await assets_of(ctx) if a.role in LOAD_ROLES]
    zone = assets[0].timezone if assets else "UTC"
    start, end = window(key, zone, ctx.now_ms)
    found = await energies(session=ctx.session, asset_ids=[a.id for a in assets], start_ms=start,
                           end_ms=end, max_gap_s=ctx.settings.energy_max_gap_s)  # fmt: skip
    used = []
    for asset in assets:
        value = found[asset.id].energy_kwh
        if value is not None and value > 0:
            used.append((value, asset.name))
    used.sort(key=lambda p: (-p[0], p[1]))
    when, span = period(key, ctx.lang), interval_text(start, end, zone)
    if not used:
        return Answer(say("top_none", ctx.lang, period=when), None, "kWh", span, "no_data")
    sep = " con " if ctx.lang == "it" else " with "
    items = [f"{name}{sep}{amount(v, 'kWh', ctx.lang)}" for v, name in used[:LISTED]]
    text = say("top", ctx.lang, period=when, items=listing(items, ctx.lang))
    return Answer(text, round(used[0][0], 3), "kWh", span)


async def peak_demand(ctx: Context, slots: dict[str, Any]) -> Answer:
    """Peak demand [kW, 15-min average] of an asset or site over the period (default: this
    month) and when it was."""
    scope = await resolve(ctx, slots.get("target"))
    key = slots.get("timeframe") or "this_month"
    start, end = window(key, scope.timezone, ctx.now_ms)
    span, when = interval_text(start, end, scope.timezone), period(key, ctx.lang)
    figure = (await _kpis(ctx, scope, start, end, "peak_demand_kw")).get("peak_demand_kw") or {}
    value = figure.get("value")
    if value is None:
        text = say("peak_none", ctx.lang, name=scope.name, period=when)
        return Answer(text, None, "kW", span, "no_data")
    moment = local_time(to_ms(figure["at"]), scope.timezone, ctx.lang)
    text = say("peak", ctx.lang, name=scope.name, period=when,
               amount=amount(value, "kW", ctx.lang), when=moment)  # fmt: skip
    return Answer(text, round(value, 3), "kW", span)


async def energy_cost(ctx: Context, slots: dict[str, Any]) -> Answer:
    """Energy cost [currency, Decimal to the cent] by the site's tariff (default this month)."""
    scope = await resolve(ctx, slots.get("target"))
    key = slots.get("timeframe") or "this_month"
    start, end = window(key, scope.timezone, ctx.now_ms)
    span, when = interval_text(start, end, scope.timezone), period(key, ctx.lang)
    cost = (await _kpis(ctx, scope, start, end, "cost")).get("cost") or {}
    if cost.get("value") is None:
        notes = cost.get("notes") or ["no energy data"]
        text = say("cost_none", ctx.lang, name=scope.name, period=when, reason=notes[0])
        return Answer(text, None, cost.get("unit"), span, "no_data")
    value = money(cost["value"], ctx.lang)
    text = say("cost", ctx.lang, name=scope.name, period=when,
               amount=amount(value, cost["unit"], ctx.lang))  # fmt: skip
    return Answer(text, float(value), cost["unit"], span)


async def co2_emissions(ctx: Context, slots: dict[str, Any]) -> Answer:
    """CO2 [kg] of the energy used, by the site's emission factor (default this month)."""
    scope = await resolve(ctx, slots.get("target"))
    key = slots.get("timeframe") or "this_month"
    start, end = window(key, scope.timezone, ctx.now_ms)
    span, when = interval_text(start, end, scope.timezone), period(key, ctx.lang)
    carbon = (await _kpis(ctx, scope, start, end, "carbon_kg")).get("carbon_kg") or {}
    value = carbon.get("value")
    if value is None:
        text = say("co2_none", ctx.lang, name=scope.name, period=when)
        return Answer(text, None, "kg", span, "no_data")
    text = say("co2", ctx.lang, name=scope.name, period=when,
               amount=amount(value, "kg", ctx.lang))  # fmt: skip
    return Answer(text, round(value, 3), "kg", span)
