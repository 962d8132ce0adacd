"""A battery with SOC limits and efficiency, and EV chargers with charging sessions.

Sign convention of storage: ``power_kw`` > 0 charging (drawn from the site), < 0
discharging; ``energy_kwh`` registers the charged energy, ``energy_export_kwh`` the discharged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridpilot.sim import noise
from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR
from gridpilot.sim.model import ENERGY_REGISTER, SimContext, apply_overrides
from gridpilot.sim.noise import Array

STORAGE_REGISTERS: tuple[tuple[str, str, float], ...] = (
    ("energy_kwh", "power_kw", 1.0),
    ("energy_export_kwh", "power_kw", -1.0),
)


@dataclass(frozen=True)
class Battery:
    """Time-shifting battery: charges 10-15 h local (solar surplus), discharges 18-22 h.

    SOC stays within [``soc_min_pct``, ``soc_max_pct``]; round-trip ``efficiency`` is split
    evenly between charging and discharging. SOC is carried across chunks in ``ctx.state``.
    """

    rated_kw: float = 500.0
    capacity_kwh: float = 1000.0
    soc_min_pct: float = 10.0
    soc_max_pct: float = 90.0
    efficiency: float = 0.92
    kind: str = "battery"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = STORAGE_REGISTERS
    anomaly_kinds: tuple[str, ...] = ()

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        hour = ctx.local(t_ms).hour
        usable = self.capacity_kwh * (self.soc_max_pct - self.soc_min_pct) / 100.0
        charge_kw = min(self.rated_kw, usable / 5.0 / np.sqrt(self.efficiency))
        discharge_kw = min(self.rated_kw, usable / 4.0 * np.sqrt(self.efficiency))
        request = np.where((hour >= 10) & (hour < 15), charge_kw, 0.0)
        request = np.where((hour >= 18) & (hour < 22), -discharge_kw, request)
        o = ctx.overrides
        if o.remote:  # under an EMS: idle between its set points
            request = np.zeros(len(t_ms))
        forced = np.zeros(len(t_ms), dtype=bool)
        if o.forced_kw is not None:  # a charge/discharge command, until its duration ends
            forced = t_ms < o.forced_until_ms if o.forced_until_ms is not None else ~forced
            request = np.where(forced, np.clip(o.forced_kw, -self.rated_kw, self.rated_kw), request)
        request = apply_overrides(request, o)
        target = o.forced_soc_pct  # a charge's target SOC, a discharge's minimum (0 % included)
        top = min(self.soc_max_pct, 100.0 if target is None else target)
        bottom = max(self.soc_min_pct, 0.0 if target is None else target)
        eta = np.sqrt(self.efficiency)
        dt_h = self.interval_s / 3600.0
        soc = ctx.state.get("soc_pct", 50.0)
        power = np.empty(len(t_ms))
        socs = np.empty(len(t_ms))
        for i, p in enumerate(request.tolist()):
            high, low = (top, bottom) if forced[i] else (self.soc_max_pct, self.soc_min_pct)
            if p > 0:
                room = (high - soc) / 100.0 * self.capacity_kwh / (eta * dt_h)
                p = min(p, max(room, 0.0))
                soc += p * eta * dt_h / self.capacity_kwh * 100.0
            elif p < 0:
                left = (soc - low) / 100.0 * self.capacity_kwh * eta / dt_h
                p = -min(-p, max(left, 0.0))
                soc += p / eta * dt_h / self.capacity_kwh * 100.0
            power[i], socs[i] = p, soc
        ctx.state["soc_pct"] = soc
        return {"power_kw": power, "soc_pct": socs}


@dataclass(frozen=True)
class EvCharger:
    """An AC/DC charger: 0-3 sessions a day (more on weekdays), arrivals 07-19 h local, 8-38
    kWh each at up to ``rated_kw``; a session starts after the previous one has left."""

    rated_kw: float = 22.0
    weekday_sessions: float = 2.5
    weekend_sessions: float = 0.7
    kind: str = "ev_charger"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ("session_count",)
    registers: tuple[tuple[str, str, float], ...] = ENERGY_REGISTER
    anomaly_kinds: tuple[str, ...] = ()

    def sessions(self, ctx: SimContext, first_day: int, last_day: int) -> list[tuple[int, int]]:
        """(start_ms, end_ms) of the charging sessions of days [first_day, last_day] (UTC days,
        clock hours in local time approximated by the site's offset at noon)."""
        result: list[tuple[int, int]] = []
        free_from = 0
        stream = ctx.asset_key + "/ev"
        for day in range(first_day, last_day + 1):
            noon = np.array([day * MS_PER_DAY + 12 * MS_PER_HOUR])
            local = ctx.local(noon)
            offset_ms = round((local.hour[0] - 12.0) * MS_PER_HOUR)
            mean = self.weekday_sessions if local.weekday[0] < 5 else self.weekend_sessions
            count = int(mean + noise.uniform(ctx.seed, stream + "/n", day)[0] * 1.5)
            for j in range(count):
                index = day * 8 + j
                arrive = 7.0 + 12.0 * noise.uniform(ctx.seed, stream + "/arrive", index)[0]
                energy = 8.0 + 30.0 * noise.uniform(ctx.seed, stream + "/kwh", index)[0]
                dwell_h = 2.0 + 7.0 * noise.uniform(ctx.seed, stream + "/dwell", index)[0]
                start = day * MS_PER_DAY + int(arrive * MS_PER_HOUR) - offset_ms
                start = max(start, free_from)
                charge_h = min(energy / self.rated_kw, dwell_h)
                end = start + int(charge_h * MS_PER_HOUR)
                free_from = start + int(dwell_h * MS_PER_HOUR)
                result.append((start, end))
        return sorted(result)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        step = int(self.interval_s * 1000)
        charging = np.zeros(len(t_ms), dtype=bool)
        starts = np.zeros(len(t_ms))
        if len(t_ms):
            first, last = int(t_ms[0]) // MS_PER_DAY - 1, int(t_ms[-1]) // MS_PER_DAY
            for start, end in self.sessions(ctx, first, last):
                charging |= (t_ms >= start) & (t_ms < end)
                starts += ((t_ms <= start) & (start < t_ms + step)).astype(np.float64)
        power = np.where(
            charging, self.rated_kw * noise.jitter(ctx.seed, ctx.asset_key, t_ms, 0.02), 0.0
        )
        o = ctx.overrides
        if o.remote or o.forced_kw is not None:
            # smart charging: the EMS's set point while it lasts (a set point without a
            # duration, 0 kW included, until the next command), then nothing under remote
            # control, else the charger's own sessions again
            until = o.forced_until_ms
            forced = (t_ms < until) if until is not None else np.ones(len(t_ms), dtype=bool)
            forced &= o.forced_kw is not None
            after = 0.0 if o.remote else power
            set_kw = min(max(o.forced_kw or 0.0, 0.0), self.rated_kw)
            power = np.where(forced, set_kw, after)
        power = apply_overrides(np.clip(power, 0.0, self.rated_kw), o)
        return {
            "power_kw": power,
            "operating_state": (power > 0).astype(np.float64),
            "session_count": starts,
        }
