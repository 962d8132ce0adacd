"""A commercial building (HVAC, lighting, plug loads) and the members of an energy community.

Occupancy of the office building: weekdays ramping 07-09 h to full until 17 h, down by 19 h;
Saturday mornings 30 %; Sunday empty. HVAC and lighting are curtailable (they obey
``set_power_limit``/``stop``/``setpoint`` commands); plug loads are not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridpilot.sim import dr_response, noise
from gridpilot.sim.clock import LocalTime
from gridpilot.sim.model import ENERGY_REGISTER, SimContext, apply_overrides, part_metric
from gridpilot.sim.noise import Array
from gridpilot.sim.solar import PvPlant, solar_elevation_deg
from gridpilot.sim.storage_devices import STORAGE_REGISTERS, Battery

#: The office's usual room setpoint [degC] and the HVAC's saving per kelvin away from it.
USUAL_SETPOINT_C, SAVING_PER_K = 22.0, 0.06


def office_occupancy(local: LocalTime) -> Array:
    """Share of the office's people present (0..1)."""
    h = local.hour
    weekday = np.clip((h - 7.0) / 2.0, 0, 1) * np.clip((19.0 - h) / 2.0, 0, 1)
    saturday = 0.3 * np.clip((h - 8.0), 0, 1) * np.clip((13.0 - h), 0, 1)
    return np.where(local.weekday < 5, weekday, np.where(local.weekday == 5, saturday, 0.0))


@dataclass(frozen=True)
class BuildingHvac:
    """Office HVAC, 1 min: 10 kW standby + thermal load / COP 3.2, pre-conditioning from 06 h.

    Load = (40 + 7 kW/K above 22 degC + 5 kW/K below 16 degC outside) x (0.25 + 0.75 x
    occupancy). A ``setpoint`` (room temperature, degC) away from the usual 22 saves 6 %/K of
    the thermal part once the room has followed it, with a first-order lag of 25 min, and
    the load rebounds after it is removed (``sim.dr_response``)."""

    rated_kw: float = 180.0
    kind: str = "hvac"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = ENERGY_REGISTER
    anomaly_kinds: tuple[str, ...] = ("fouling",)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        local = ctx.local(t_ms)
        occupancy = office_occupancy(local)
        preconditioning = np.where(
            (local.weekday < 5) & (local.hour >= 6) & (local.hour < 7), 0.6, 0
        )
        outdoor = ctx.weather(t_ms).temperature_c
        thermal = 40.0 + 7.0 * np.maximum(outdoor - 22, 0) + 5.0 * np.maximum(16 - outdoor, 0)
        cop = 3.2 * (1.0 - 0.15 * ctx.anomaly_level("fouling", t_ms))
        setpoint = ctx.overrides.setpoint
        delta = abs(setpoint - USUAL_SETPOINT_C) if setpoint is not None else 0.0
        theta = dr_response.lagged_offset(t_ms, delta, ctx.state)
        saving = dr_response.hvac_factor(theta, delta, SAVING_PER_K)
        active = np.maximum(0.25 + 0.75 * occupancy, preconditioning) * (local.weekday < 6)
        power = 10.0 + thermal * active / cop * 3.0 * saving
        power = power * noise.jitter(ctx.seed, ctx.asset_key, t_ms)
        power = apply_overrides(np.clip(power, 0.0, self.rated_kw), ctx.overrides)
        return {"power_kw": power, "outdoor_temperature_c": outdoor}


@dataclass(frozen=True)
class Lighting:
    """Lighting, 1 min: installed power x occupancy x (1 - 60 % daylight), 3 kW always on."""

    latitude: float
    longitude: float
    installed_kw: float = 60.0
    kind: str = "lighting"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = ENERGY_REGISTER
    anomaly_kinds: tuple[str, ...] = ()

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        occupancy = office_occupancy(ctx.local(t_ms))
        elevation = solar_elevation_deg(t_ms, self.latitude, self.longitude)
        daylight = (
            np.sin(np.radians(np.clip(elevation, 0, 90))) * ctx.weather(t_ms).clear_sky_factor
        )
        power = 3.0 + self.installed_kw * occupancy * (1.0 - 0.6 * daylight)
        power = power * noise.jitter(ctx.seed, ctx.asset_key, t_ms, 0.02)
        return {"power_kw": apply_overrides(power, ctx.overrides)}


@dataclass(frozen=True)
class PlugLoads:
    """Computers, kitchens, lifts, 1 min: 8 kW + up to 32 kW with occupancy (not curtailable)."""

    kind: str = "plug_load"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = ENERGY_REGISTER
    anomaly_kinds: tuple[str, ...] = ()

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        occupancy = office_occupancy(ctx.local(t_ms))
        power = (8.0 + 32.0 * occupancy) * noise.jitter(ctx.seed, ctx.asset_key, t_ms)
        return {"power_kw": power}


#: Opening profiles of community members: local hours open and weekdays (0 = Monday).
BUSINESS_HOURS: dict[str, tuple[tuple[float, float], ...]] = {
    "household": (),
    "shop": ((9.0, 13.0), (16.0, 20.0)),
    "bakery": ((4.0, 13.0),),
    "office": ((8.0, 18.0),),
}

#: Registers of a community member: at the POD (import ``energy_kwh``, export
#: ``energy_export_kwh``) and the CER device message's consumed and produced energy.
MEMBER_REGISTERS: tuple[tuple[str, str, float], ...] = (
    ("energy_kwh", "power_kw", 1.0),
    ("energy_export_kwh", "power_kw", -1.0),
    ("energy_consumed_kwh", "power_consumed_kw", 1.0),
    ("energy_produced_kwh", "power_produced_kw", 1.0),
)


@dataclass(frozen=True)
class CommunityMember:
    """A household or small business of an energy community, 1 min, with optional PV.

    Households: 0.15-0.35 kW base, morning (07-09 h) and evening (18-22 h) peaks, appliance
    bursts (1.5-2.5 kW) in random quarter hours. Businesses: ``base_kw`` + ``peak_kw`` during
    opening hours (closed on Sunday). ``power_kw`` is the net power at the POD (+ import,
    - export); ``power_consumed_kw``/``power_produced_kw`` and the CER electrical quantities:
    voltage (230 V +-3 %, injection raises it), current, frequency (50 Hz +- 0.05), power factor.

    ``batteries``: home batteries behind the POD, each its own asset (kind battery, role
    storage) driven by this model (``SimContext.part``): a battery follows its own asset's
    commands (the flex MPC's set points) and its charging and discharging are in the POD's net
    power, as a meter behind which the battery sits measures them; its ``power_kw``,
    ``soc_pct`` and registers come out as ``<name>:<metric>`` for the runner to store under
    the battery's asset. ``power_consumed_kw`` stays the household's own load, so the site
    balance's identity (import - export + generation + discharge - charge = consumption)
    holds for each member.
    """

    latitude: float
    longitude: float
    profile: str = "household"
    base_kw: float = 0.25
    peak_kw: float = 1.5
    pv_kw: float = 0.0
    kind: str = "household"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    anomaly_kinds: tuple[str, ...] = ()
    batteries: tuple[tuple[str, Battery], ...] = ()

    @property
    def registers(self) -> tuple[tuple[str, str, float], ...]:
        parts = tuple(
            (part_metric(name, register), part_metric(name, source), sign)
            for name, _ in self.batteries
            for register, source, sign in STORAGE_REGISTERS
        )
        return MEMBER_REGISTERS + parts

    def _consumption(self, t_ms: NDArray[np.int64], ctx: SimContext) -> Array:
        local = ctx.local(t_ms)
        h = local.hour
        if self.profile == "household":
            morning = np.exp(-(((h - 7.8) / 0.8) ** 2))
            evening = np.exp(-(((h - 20.0) / 1.6) ** 2))
            shape = 0.5 * morning + evening
            quarter = t_ms // 900_000
            burst = noise.uniform(ctx.seed, ctx.asset_key + "/burst", quarter) < 0.08 + 0.12 * shape
            extra = burst * (1.5 + noise.uniform(ctx.seed, ctx.asset_key + "/kw", quarter))
            power = self.base_kw + self.peak_kw * shape + extra
        else:
            open_ = np.zeros(len(t_ms), dtype=bool)
            for begin, end in BUSINESS_HOURS[self.profile]:
                open_ |= (h >= begin) & (h < end)
            open_ &= local.weekday < 6
            power = self.base_kw + self.peak_kw * open_
        return np.asarray(power, dtype=np.float64) * noise.jitter(ctx.seed, ctx.asset_key, t_ms)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        consumed = apply_overrides(self._consumption(t_ms, ctx), ctx.overrides)
        produced = np.zeros(len(t_ms))
        if self.pv_kw > 0:
            pv = PvPlant(self.latitude, self.longitude, self.pv_kw, self.pv_kw * 0.9)
            produced = pv.simulate(t_ms, ctx)["power_kw"]
        storage = np.zeros(len(t_ms))
        parts: dict[str, Array] = {}
        for name, battery in self.batteries:
            out = battery.simulate(t_ms, ctx.part(name))
            storage = storage + out["power_kw"]
            parts.update({part_metric(name, k): v for k, v in out.items()})
        net = consumed - produced + storage
        voltage = 230.0 * (1.0 - 0.004 * net / max(self.peak_kw, 1.0)) + 1.5 * noise.smooth(
            ctx.seed, ctx.asset_key + "/v", t_ms, 600_000
        )
        voltage = np.clip(voltage, 223.1, 236.9)
        factor = np.clip(
            0.95 + 0.03 * noise.smooth(ctx.seed, ctx.asset_key + "/pf", t_ms, 3_600_000), 0.9, 0.99
        )
        current = np.abs(net) * 1000.0 / (voltage * factor)
        frequency = 50.0 + 0.02 * noise.smooth(ctx.seed, "grid/frequency", t_ms, 120_000)
        return {
            "power_kw": net,
            "power_consumed_kw": consumed,
            "power_produced_kw": produced,
            "voltage_v": voltage,
            "current_a": current,
            "frequency_hz": frequency,
            "power_factor": factor,
            **parts,
        }
