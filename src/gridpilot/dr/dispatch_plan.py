"""From an event and the site's flexible resources to dispatch steps (pure: what dispatch read
of the resources' assets comes in as ``AssetState``): the reduction each resource gives, and
the command that carries it out.

Modes (reduction r [kW]; the command holding it; the command releasing it):

- ``switch``, a ``curtailable_load``: ``shed_kw`` whole (on/off), at most ``max_duration_min``;
  ``stop``; ``start``;
- ``dim``, a ``curtailable_load`` on a lighting asset: 0..min(``shed_kw``, draw), at most
  ``max_duration_min``; ``set_power_limit`` draw - r; ``set_power_limit`` its rating;
- ``defer``, an interruptible ``deferrable_load``: 0..draw, energy at most what it can make up
  in its window; ``set_power_limit`` draw - r; draw + r held, later ``power_max_kw``;
- ``setpoint``, an ``hvac`` offset: ``kw_per_degc`` x offset <= ``max_offset_degc`` (rounded
  up to 0.1 degC); ``setpoint`` base + offset; base (+ what is still held);
- ``battery``: <= ``discharge_max_kw``, energy above ``soc_min_pct``; a ``discharge`` per
  interval; its duration runs out, then its flex schedule's step;
- ``ev``, an ``ev_charger``: ``power_max_kw - power_min_kw`` while a car is plugged in;
  ``set_power_limit`` max - r; max.

- **dim**: a curtailable load whose asset is of kind ``lighting`` (or has the attribute
  ``dimmable: true``; ``dimmable: false`` switches a lighting load instead) is dimmed by a
  power limit below what it draws (``draw``: the asset's newest ``power_kw`` reading, at most
  ``DRAW_MAX_AGE_MS`` old, or the draw the plan recorded when it first held it: a limited
  asset's own reading is no longer its free draw). Released to the asset's rated capacity
  (else twice the larger of draw and ``shed_kw``), a limit it never reaches.
- **defer**: an interruptible deferrable load is capped down to a pause; the energy held back
  is made up after the release (the simulator's machines do, ``sim.dr_response.defer``), so
  it is at most ``(power_max_kw - draw) x`` the hours from the event's end to the close of the
  load's daily window (site local time) holding the event's start, less what this event held
  back already. At the end the cap goes to draw + the reduction held (the make-up runs at
  about the rate it was held, which the restore plans for: ``rebound_frac`` 1), and as many
  intervals later as it was held, to ``power_max_kw``. A load that runs in one block
  (``interruptible: false``) is not capped.
- **battery**: one ``discharge`` per interval (``duration_s`` to the interval's end plus
  ``HOLD_MARGIN_S``, so the next one arrives before it runs out; the event's last interval
  ends at the end), never ``stop``: a battery that leaves the plan simply runs out its
  interval, so nothing outlives the event. At the release the battery goes back to its flex
  schedule's step (``handback``).

Costs [EUR/kWh of reduction]: a curtailable load's ``cost_eur_per_kwh`` (value of the energy
not served, or of the light not given), a battery's wear (half its ``cycle_cost_eur_per_kwh``),
an HVAC offset's ``DISCOMFORT_EUR_PER_DEGC_H`` / ``kw_per_degc``, an EV charger's
``EV_DELAY_EUR_PER_KWH``, a deferral's ``DEFER_EUR_PER_KWH``; a rebound adds its share of
``REBOUND_EUR_PER_KWH``. The HVAC base setpoint is the asset's ``setpoint_c`` attribute, else
``HVAC_BASE_SETPOINT_C``; in ``hvac_mode: heating`` the offset lowers the setpoint.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.analytics import dr_dispatch as dd
from gridpilot.core.timestamps import MS_PER_HOUR
from gridpilot.flex.schedule_schemas import ScheduleOut
from gridpilot.flex.schemas import (
    BatteryParams,
    CurtailableLoadParams,
    DeferrableLoadParams,
    EVChargerParams,
    HvacParams,
    ResourceOut,
)
from gridpilot.flex.windows import clock_minutes, window_minutes

#: Discomfort of a degree of setpoint offset held for an hour [EUR/(degC h)].
DISCOMFORT_EUR_PER_DEGC_H = 2.0
#: Cost of a kWh of EV charging delayed [EUR/kWh].
EV_DELAY_EUR_PER_KWH = 0.30
#: Cost of a kWh of a deferrable load's energy moved to after the event [EUR/kWh].
DEFER_EUR_PER_KWH = 0.10
#: Room setpoint an HVAC offset starts from when its asset does not say [degC].
HVAC_BASE_SETPOINT_C = 22.0
#: The newest power reading a dimmed or deferred load's draw is read from, at most [ms].
DRAW_MAX_AGE_MS = 15 * 60_000
#: A battery's discharge lasts this much past its interval, so the next one overlaps [s].
HOLD_MARGIN_S = 60


@dataclass(frozen=True)
class AssetState:
    """What dispatch read of a resource's asset: kind, attributes, rated capacity [kW], the
    power it draws free of any limit [kW] (see ``draw`` above), the measured SOC [%], and the
    energy this event's plan held back from it already [kWh]."""

    kind: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    rated_kw: float | None = None
    draw_kw: float | None = None
    soc_pct: float | None = None
    deferred_kwh: float = 0.0


@dataclass(frozen=True)
class EventSpan:
    """The intervals planned: their starts [epoch ms], length [ms], the event's end [epoch ms]
    and the site's time zone."""

    starts_ms: list[int]
    step_ms: int
    end_ms: int
    timezone: str


@dataclass(frozen=True)
class Candidate:
    """A resource the plan may use: its optimiser view, its ``mode`` and what its commands
    need (``draw_kw``, ``release_kw``: dim and defer; the HVAC's base setpoint)."""

    resource: ResourceOut
    shed: dd.Shed
    mode: str
    base_setpoint_c: float | None = None
    heating: bool = False
    draw_kw: float | None = None
    release_kw: float | None = None


def _available(r: ResourceOut, starts_ms: list[int], step_ms: int) -> tuple[bool, ...] | None:
    """Per interval whether an EV charger has a car (no sessions listed: always)."""
    assert isinstance(r.params, EVChargerParams)
    if not r.params.sessions:
        return None
    spans = [
        (int(s.arrival.timestamp() * 1000), int(s.departure.timestamp() * 1000))
        for s in r.params.sessions
    ]
    return tuple(any(a < t + step_ms and t < d for a, d in spans) for t in starts_ms)


def dimmed(asset: AssetState) -> bool:
    """Whether a curtailable load on ``asset`` is dimmed rather than switched off."""
    flag = asset.attributes.get("dimmable")
    return flag is True or (asset.kind == "lighting" and flag is not False)


def window_close_ms(at_ms: int, timezone: str, window_start: str, window_end: str) -> int | None:
    """The close [epoch ms] of the daily local window holding ``at_ms``; None outside it."""
    zone = ZoneInfo(timezone)
    opening = clock_minutes(window_start) % (24 * 60)
    length = window_minutes(window_start, window_end)
    day = dt.datetime.fromtimestamp(at_ms / 1000, zone).date()
    for d in (day - dt.timedelta(days=1), day):
        midnight = dt.datetime.combine(d, dt.time(), tzinfo=zone)  # wall-clock arithmetic
        opens = int((midnight + dt.timedelta(minutes=opening)).timestamp() * 1000)
        closes = int((midnight + dt.timedelta(minutes=opening + length)).timestamp() * 1000)
        if opens <= at_ms < closes:
            return closes
    return None


def _lighting(
    r: ResourceOut, p: CurtailableLoadParams, asset: AssetState, releasing: bool
) -> Candidate | str:
    if asset.draw_kw is None:
        return f"{r.name}: no power reading in the last 15 min: its dimming level cannot be set"
    dim_kw = min(p.shed_kw, asset.draw_kw)
    if dim_kw <= dd.EPS_KW and not releasing:
        return f"{r.name}: draws nothing now: nothing to dim"
    shed = dd.dimming(
        r.name, dim_kw=dim_kw, cost_eur_per_kwh=p.cost_eur_per_kwh,
        max_duration_min=p.max_duration_min, rebound_pct=p.rebound_pct,
    )  # fmt: skip
    rated = asset.rated_kw
    release = rated if rated and rated >= asset.draw_kw else 2 * max(asset.draw_kw, p.shed_kw)
    return Candidate(r, shed, "dim", draw_kw=asset.draw_kw, release_kw=round(release, 3))


def _deferrable(
    r: ResourceOut, p: DeferrableLoadParams, asset: AssetState, span: EventSpan, releasing: bool
) -> Candidate | str:
    if not p.interruptible:
        return f"{r.name}: runs in one block (interruptible: false): it is not capped"
    if asset.draw_kw is None:
        return f"{r.name}: no power reading in the last 15 min: its cap cannot be set"
    closes = window_close_ms(span.starts_ms[0], span.timezone, p.window_start, p.window_end)
    if closes is None and releasing:
        closes = span.end_ms
    if closes is None:
        return f"{r.name}: the event lies outside its window {p.window_start}-{p.window_end}"
    hours_after = (closes - span.end_ms) / MS_PER_HOUR
    headroom_kw = max(0.0, p.power_max_kw - asset.draw_kw)
    energy = max(0.0, headroom_kw * max(0.0, hours_after) - asset.deferred_kwh)
    if not releasing and (energy <= dd.EPS_KW or asset.draw_kw <= dd.EPS_KW):
        return (
            f"{r.name}: what it held back could not be made up before its window closes "
            f"({p.window_end}): no room between its draw and power_max_kw, or no time"
        )
    shed = dd.deferral(
        r.name, defer_kw=asset.draw_kw, deferrable_kwh=round(energy, 6),
        cost_eur_per_kwh=DEFER_EUR_PER_KWH,
    )  # fmt: skip
    return Candidate(r, shed, "defer", draw_kw=asset.draw_kw, release_kw=p.power_max_kw)


def candidate(
    r: ResourceOut, *, span: EventSpan, asset: AssetState, releasing: bool = False
) -> Candidate | str:
    """The resource as the plan sees it, or a note saying why dispatch does not use it
    (``releasing``: for the restore, which releases what is held whatever is left of it)."""
    p = r.params
    if isinstance(p, CurtailableLoadParams):
        if dimmed(asset):
            return _lighting(r, p, asset, releasing)
        shed = dd.curtailable(
            r.name, shed_kw=p.shed_kw, cost_eur_per_kwh=p.cost_eur_per_kwh,
            max_duration_min=p.max_duration_min, rebound_pct=p.rebound_pct,
        )  # fmt: skip
        return Candidate(r, shed, "switch")
    if isinstance(p, DeferrableLoadParams):
        return _deferrable(r, p, asset, span, releasing)
    if isinstance(p, HvacParams):
        shed = dd.hvac(
            r.name, kw_per_degc=p.kw_per_degc, max_offset_degc=p.max_offset_degc,
            discomfort_eur_per_degc_h=DISCOMFORT_EUR_PER_DEGC_H,
            max_duration_min=p.max_duration_min,
        )  # fmt: skip
        base = asset.attributes.get("setpoint_c")
        base_c = float(base) if isinstance(base, int | float) else HVAC_BASE_SETPOINT_C
        heating = asset.attributes.get("hvac_mode") == "heating"
        return Candidate(r, shed, "setpoint", base_c, heating)
    if isinstance(p, BatteryParams):
        shed = dd.battery(
            r.name, discharge_max_kw=p.discharge_max_kw, capacity_kwh=p.capacity_kwh,
            soc_pct=p.soc_start_pct if asset.soc_pct is None else asset.soc_pct,
            soc_min_pct=p.soc_min_pct, discharge_efficiency=p.discharge_efficiency,
            cost_eur_per_kwh=p.cycle_cost_eur_per_kwh / 2,
        )  # fmt: skip
        return Candidate(r, shed, "battery")
    if isinstance(p, EVChargerParams):
        shed = dd.ev_charger(
            r.name, power_max_kw=p.power_max_kw, power_min_kw=p.power_min_kw,
            cost_eur_per_kwh=EV_DELAY_EUR_PER_KWH,
            available=_available(r, span.starts_ms, span.step_ms),
        )  # fmt: skip
        return Candidate(r, shed, "ev")
    return f"{r.name}: a {r.kind} resource is not dispatched for demand response"


def _limit(c: Candidate, reduction_kw: float) -> tuple[str, dict[str, Any]]:
    assert c.draw_kw is not None and c.release_kw is not None
    if reduction_kw <= dd.EPS_KW:
        return "set_power_limit", {"limit_kw": c.release_kw}
    return "set_power_limit", {"limit_kw": round(max(0.0, c.draw_kw - reduction_kw), 3)}


def command_for(
    c: Candidate, reduction_kw: float, duration_s: int
) -> tuple[str, dict[str, Any]] | None:
    """The command holding ``reduction_kw`` [kW] for ``duration_s`` (None: none needed)."""
    p = c.resource.params
    held = reduction_kw > dd.EPS_KW
    if c.mode == "switch":
        return ("stop", {}) if held else ("start", {})
    if c.mode in ("dim", "defer"):
        return _limit(c, reduction_kw)
    if isinstance(p, HvacParams):
        assert c.base_setpoint_c is not None
        offset = min(p.max_offset_degc, math.ceil(reduction_kw / p.kw_per_degc * 10 - 1e-9) / 10)
        sign = -1.0 if c.heating else 1.0
        return "setpoint", {"temperature_c": round(c.base_setpoint_c + sign * offset, 1)}
    if isinstance(p, BatteryParams):
        if not held:  # its last discharge runs out: never ``stop`` (it would outlive the event)
            return None
        params = {"power_kw": round(reduction_kw, 3), "min_soc_pct": p.soc_min_pct}
        return "discharge", {**params, "duration_s": max(1, duration_s)}
    if isinstance(p, EVChargerParams):
        return "set_power_limit", {"limit_kw": round(p.power_max_kw - reduction_kw, 3)}
    return None


def handback(schedule: ScheduleOut, c: Candidate, at_ms: int) -> tuple[str, dict[str, Any]] | None:
    """The command of the flex schedule's step holding ``at_ms`` for a battery (as
    ``flex.dispatch`` sends it, lasting to the step's end); None when the step is idle, the
    schedule does not reach ``at_ms`` or does not plan the battery."""
    p = c.resource.params
    assert isinstance(p, BatteryParams)
    step_ms = schedule.step_s * 1000
    for step in schedule.steps:
        start = int(dt.datetime.fromisoformat(step.ts).timestamp() * 1000)
        if not start <= at_ms < start + step_ms:
            continue
        planned = step.batteries.get(c.resource.name)
        if planned is None:
            return None
        duration = {"duration_s": max(1, (start + step_ms - at_ms) // 1000)}
        if planned.discharge_kw >= 0.01:
            power = {"power_kw": round(planned.discharge_kw, 3), "min_soc_pct": p.soc_min_pct}
            return "discharge", {**power, **duration}
        if planned.charge_kw >= 0.01:
            power = {"power_kw": round(planned.charge_kw, 3), "target_soc_pct": p.soc_max_pct}
            return "charge", {**power, **duration}
        return None
    return None


@dataclass(frozen=True)
class StepSpec:
    """One step to store: the resource holds ``reduction_kw`` over ``[start_ms, end_ms)``."""

    candidate: Candidate
    phase: str
    start_ms: int
    end_ms: int
    reduction_kw: float
    command: tuple[str, dict[str, Any]] | None


def _blocks(
    series: list[float], starts_ms: list[int], step_ms: int, per_interval: bool
) -> Iterator[tuple[int, int, float]]:
    """(first interval, end [epoch ms], kW) of each block of equal reduction, leading zeros
    skipped; with ``per_interval`` every interval of a reduction is a block of its own."""
    end_ms = starts_ms[-1] + step_ms
    previous = 0.0
    for t, kw in enumerate(series):
        if math.isclose(kw, previous, abs_tol=1e-6) and not (per_interval and kw > dd.EPS_KW):
            continue
        later = range(t + 1, len(series))
        if per_interval:
            stop = starts_ms[t + 1] if t + 1 < len(series) else end_ms
        else:
            changes = (u for u in later if not math.isclose(series[u], kw, abs_tol=1e-6))
            stop = next((starts_ms[u] for u in changes), end_ms)
        yield t, stop, kw
        previous = kw


def shed_steps(
    candidates: list[Candidate],
    plan: dd.ReductionPlan,
    *,
    starts_ms: list[int],
    step_ms: int,
    from_ms: int,
) -> list[StepSpec]:
    """A step per block of equal reduction of each resource (a battery: per interval); the
    first block starts at ``from_ms`` (a re-plan within an interval)."""
    out: list[StepSpec] = []
    end_ms = starts_ms[-1] + step_ms
    for c in candidates:
        series = plan.reduction_kw[c.shed.name]
        battery = c.mode == "battery"
        for t, stop, kw in _blocks(series, starts_ms, step_ms, battery):
            start = max(starts_ms[t], from_ms)
            margin = HOLD_MARGIN_S if battery and stop < end_ms else 0
            command = command_for(c, kw, (stop - start) // 1000 + margin)
            out.append(StepSpec(c, "shed", start, stop, kw, command))
    return sorted(out, key=lambda s: (s.start_ms, s.candidate.resource.id))


def restore_steps(
    candidates: dict[str, Candidate],
    held: list[dd.Held],
    *,
    baseline_kw: list[float],
    pre_event_kw: float,
    from_ms: int,
    step_ms: int,
) -> tuple[list[StepSpec], dd.RestorePlan]:
    """Steps releasing ``held`` from ``from_ms`` (``analytics.dr_dispatch.restore_plan``); a
    deferred load is released to its draw + what it held, and lifted to ``power_max_kw`` as
    many intervals later as it was held."""
    plan = dd.restore_plan(held, baseline_kw=baseline_kw, pre_event_kw=pre_event_kw)
    out: list[StepSpec] = []
    for h in held:
        previous = h.kw
        c = candidates[h.name]
        timed = c.mode == "battery"  # a discharge lasts one step
        for k, kw in enumerate(plan.held_kw[h.name]):
            if math.isclose(kw, previous, abs_tol=1e-6) and not (timed and kw > dd.EPS_KW):
                continue
            start = from_ms + k * step_ms
            command = command_for(c, kw, step_ms // 1000)
            if c.mode == "defer" and kw <= dd.EPS_KW:
                assert c.draw_kw is not None and c.release_kw is not None
                payback = round(min(c.release_kw, c.draw_kw + h.kw), 3)
                command = ("set_power_limit", {"limit_kw": payback})
                lift = start + h.held_steps * step_ms
                release = ("set_power_limit", {"limit_kw": c.release_kw})
                out.append(StepSpec(c, "restore", lift, lift + step_ms, 0.0, release))
            out.append(StepSpec(c, "restore", start, start + step_ms, kw, command))
            previous = kw
    return sorted(out, key=lambda s: (s.start_ms, s.candidate.resource.id)), plan
