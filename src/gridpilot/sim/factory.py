"""The factory's five machine types (ISO 50001 seed), each with its own interval and physics.

Production follows the shift plan (``clock.production_intensity``); every machine's energy is
an idle part plus a part proportional to production, so an ISO 50001 regression of daily energy
on daily production recovers the coefficients exposed here (``kwh_per_unit``).

The industrial seed's production data and machine status: every machine counts its
``operating_hours`` (a register of the hours it was on, ``ON_REGISTER``); the production
machines report ``throughput_uph`` [units/h] and ``operating_mode`` (the index in
``assets.catalogue.OPERATING_MODES``); the molding machines also their ``recipe`` (the index of
their material in ``MATERIALS``, the asset's ``attributes.recipes``) and the material's
``material_moisture_pct``, which costs heating energy (``MOISTURE_HEAT_PER_PCT``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from gridpilot.assets.catalogue import OPERATING_MODES
from gridpilot.sim import noise
from gridpilot.sim.clock import production_intensity
from gridpilot.sim.dr_response import DEFERRED_KEY, defer
from gridpilot.sim.model import ENERGY_REGISTER, SimContext, apply_overrides
from gridpilot.sim.noise import Array


def _idx(t_ms: NDArray[np.int64], period_ms: int) -> NDArray[np.int64]:
    return np.asarray(t_ms // period_ms, dtype=np.int64)


#: The hours a machine is on (``generate`` integrates ``_on``, 1 while on, into hours).
ON_REGISTER: tuple[tuple[str, str, float], ...] = (("operating_hours", "_on", 1.0),)
MACHINE_REGISTERS = ENERGY_REGISTER + ON_REGISTER
OFF, IDLE, PRODUCTION = (float(OPERATING_MODES.index(m)) for m in ("off", "idle", "production"))


def on_array(t_ms: NDArray[np.int64], ctx: SimContext) -> Array:
    """1 while the machine is on (not stopped by a command), else 0."""
    return np.full(len(t_ms), 1.0 if ctx.overrides.running else 0.0)


def operating_mode(producing: NDArray[np.bool_], ctx: SimContext) -> Array:
    """``OPERATING_MODES`` index: production where ``producing``, idle otherwise, off when
    stopped."""
    if not ctx.overrides.running:
        return np.full(len(producing), OFF)
    return np.where(producing, PRODUCTION, IDLE)


@dataclass(frozen=True)
class Compressor:
    """Air compressor, 1 s: load/unload cycles between 6 and 8 bar, 15-75 kW, 100-500 m3/h.

    Air demand follows production; the loaded share of each 120 s cycle equals the demand.
    Anomaly ``leak``: air is lost, so the compressor runs loaded longer and the pressure band
    sinks gradually (up to 1.5 bar at severity 1).
    """

    rated_kw: float = 75.0
    unloaded_kw: float = 15.0
    cycle_s: float = 120.0
    kind: str = "compressor"
    interval_s: float = 1.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = MACHINE_REGISTERS
    anomaly_kinds: tuple[str, ...] = ("leak",)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        intensity = production_intensity(ctx.local(t_ms))
        leak = ctx.anomaly_level("leak", t_ms)
        wobble = noise.smooth(ctx.seed, f"{ctx.asset_key}/demand", t_ms, 600_000)
        demand = np.clip(0.22 + 0.65 * intensity + 0.04 * wobble + 0.25 * leak, 0.12, 0.97)
        phase = np.mod(t_ms / (self.cycle_s * 1000.0), 1.0)
        loaded = phase < demand
        pressure = np.where(
            loaded, 6.0 + 2.0 * phase / demand, 8.0 - 2.0 * (phase - demand) / (1.0 - demand)
        )
        pressure += 0.03 * noise.normal(ctx.seed, ctx.asset_key + "/p", t_ms)
        pressure = np.clip(pressure, 6.0, 8.0) - 1.5 * leak
        jitter = noise.jitter(ctx.seed, ctx.asset_key + "/power", t_ms)
        power = np.where(loaded, self.rated_kw * 0.96, self.unloaded_kw * 1.05) * jitter
        power = apply_overrides(np.clip(power, self.unloaded_kw, self.rated_kw), ctx.overrides)
        flow = np.clip(
            (100.0 + 400.0 * demand) * noise.jitter(ctx.seed, ctx.asset_key + "/f", t_ms), 100, 500
        )
        if not ctx.overrides.running:
            flow = np.zeros_like(flow)
        return {
            "power_kw": power, "pressure_bar": pressure, "flow_m3h": flow,
            "_on": on_array(t_ms, ctx),
        }  # fmt: skip


@dataclass(frozen=True)
class Hvac:
    """Chiller/heat-pump HVAC, 10 s, 20-150 kW; chilled water supply 7-9 degC, return 9-18 degC.

    Thermal load = internal gains (production) + cooling above 16 degC outside + heating below
    12 degC; COP falls from 4.0 to 2.5 as the outdoor temperature rises from 10 to 35 degC;
    electric power = 20 kW auxiliaries + load / COP. A setpoint (supply temperature, degC)
    saves 3 % per degree above 7. Anomaly ``fouling``: COP down to -15 %.

    Water side, constant flow, so the temperature difference follows the cooling delivered
    (L = (power - 20 kW) x COP over the design 130 kW x 3.25, 0-1): supply 7 degC at full
    load, reset up to 8 degC at no load (or the setpoint); return = supply + 1 K + 6 K x L, plus
    0.08 K per K outdoors above 15 degC (heat picked up in the hall and the pipes): about
    9.5-10 degC at night, 11.5-13 degC in a shift, up to 16 degC on hot afternoons.
    """

    rated_kw: float = 150.0
    base_kw: float = 20.0
    kind: str = "hvac"
    interval_s: float = 10.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = MACHINE_REGISTERS
    anomaly_kinds: tuple[str, ...] = ("fouling",)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        intensity = production_intensity(ctx.local(t_ms))
        outdoor = ctx.weather(t_ms).temperature_c
        thermal = (
            60.0
            + 120.0 * intensity
            + 14.0 * np.maximum(outdoor - 16.0, 0.0)
            + 5.0 * np.maximum(12.0 - outdoor, 0.0)
        )
        cop = 4.0 - 1.5 * np.clip((outdoor - 10.0) / 25.0, 0.0, 1.0)
        cop = cop * (1.0 - 0.15 * ctx.anomaly_level("fouling", t_ms))
        setpoint = ctx.overrides.setpoint
        # 0 degC is a set point too (clipped to 7-12 like any other), not "none"
        saving = 1.0 if setpoint is None else 1.0 - 0.03 * (min(max(setpoint, 7.0), 12.0) - 7.0)
        power = (self.base_kw + thermal / cop * saving) * noise.jitter(
            ctx.seed, ctx.asset_key, t_ms
        )
        power = apply_overrides(np.clip(power, self.base_kw, self.rated_kw), ctx.overrides)
        design_kw = (self.rated_kw - self.base_kw) * 3.25
        cooling = np.clip((power - self.base_kw) * cop / design_kw, 0.0, 1.0)
        supply = 8.0 - cooling if setpoint is None else np.full_like(power, setpoint)
        supply = np.clip(supply + 0.1 * noise.normal(ctx.seed, ctx.asset_key + "/s", t_ms), 7, 12)
        delta_k = 1.0 + 6.0 * cooling + 0.08 * np.maximum(outdoor - 15.0, 0.0)
        ret = supply + delta_k + 0.05 * noise.normal(ctx.seed, ctx.asset_key + "/r", t_ms)
        ret = np.clip(ret, supply + 1.0, 20.0)
        return {
            "power_kw": power,
            "supply_temp_c": supply,
            "return_temp_c": ret,
            "cop": np.clip(cop, 2.0, 4.0),
            "outdoor_temperature_c": outdoor,
            "_on": on_array(t_ms, ctx),
        }


@dataclass(frozen=True)
class Conveyor:
    """Conveyor motor on a VFD, 10 s: speed 0-100 % follows production, power 5-30 kW.

    Power = 5 kW + 0.25 kW per % speed x load factor (0.9-1.1, varies by the hour); the line
    makes ``units_per_hour_at_full`` units at 100 %. Anomaly ``overload``: +35 % power.
    """

    rated_kw: float = 30.0
    idle_kw: float = 5.0
    units_per_hour_at_full: float = 1800.0
    kind: str = "motor"
    interval_s: float = 10.0
    counters: tuple[str, ...] = ("production_count",)
    registers: tuple[tuple[str, str, float], ...] = MACHINE_REGISTERS
    anomaly_kinds: tuple[str, ...] = ("overload",)

    @property
    def kwh_per_unit(self) -> float:
        """True specific energy of the moving part [kWh/unit] (100 % = 25 kW)."""
        return (self.rated_kw - self.idle_kw) / self.units_per_hour_at_full

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        intensity = production_intensity(ctx.local(t_ms))
        wobble = 1.0 + 0.03 * noise.smooth(ctx.seed, ctx.asset_key + "/speed", t_ms, 900_000)
        speed = np.clip(100.0 * intensity * wobble, 0.0, 100.0)
        if not ctx.overrides.running:
            speed = np.zeros_like(speed)
        load = 1.0 + 0.1 * np.clip(
            noise.smooth(ctx.seed, ctx.asset_key + "/load", t_ms, 3_600_000), -1, 1
        )
        overload = 1.0 + 0.35 * ctx.anomaly_level("overload", t_ms)
        moving = (self.rated_kw - self.idle_kw) * speed / 100.0 * load * overload
        power = (self.idle_kw + moving) * noise.jitter(ctx.seed, ctx.asset_key, t_ms)
        power = apply_overrides(np.clip(power, self.idle_kw, self.rated_kw), ctx.overrides)
        throughput = self.units_per_hour_at_full * speed / 100.0
        return {
            "power_kw": power,
            "speed_pct": speed,
            "production_count": throughput * self.interval_s / 3600.0,
            "throughput_uph": throughput,
            "operating_mode": operating_mode(speed > 1.0, ctx),
            "_on": on_array(t_ms, ctx),
        }


@dataclass(frozen=True)
class HydraulicPump:
    """Hydraulic pump, 30 s, 10-50 kW, 150-200 bar, batch cycles of 5 minutes.

    Each cycle runs (pressurise 40 %: ~48 kW ramping 150->200 bar; hold 30 %: ~30 kW at 200
    bar; release 30 %: ~12 kW, 150 bar) with a probability equal to the production intensity,
    else the pump idles (10 kW, 150 bar). Anomaly ``pressure_drop``: internal leakage, up to
    -25 bar and +15 % power.
    """

    rated_kw: float = 50.0
    idle_kw: float = 10.0
    cycle_s: float = 300.0
    kind: str = "pump"
    interval_s: float = 30.0
    counters: tuple[str, ...] = ("cycle_count",)
    registers: tuple[tuple[str, str, float], ...] = MACHINE_REGISTERS
    anomaly_kinds: tuple[str, ...] = ("pressure_drop",)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        period = int(self.cycle_s * 1000)
        cycle = _idx(t_ms, period)
        start = cycle * period
        intensity = production_intensity(ctx.local(start))
        active = noise.uniform(ctx.seed, ctx.asset_key + "/batch", cycle) < intensity
        active &= ctx.overrides.running
        phase = (t_ms - start) / period
        pressurise, hold = phase < 0.4, (phase >= 0.4) & (phase < 0.7)
        power = np.where(pressurise, 48.0, np.where(hold, 30.0, 12.0))
        pressure = np.where(pressurise, 150.0 + 50.0 * phase / 0.4, np.where(hold, 200.0, 150.0))
        power = np.where(active, power, self.idle_kw)
        pressure = np.where(active, pressure, 150.0)
        leak = ctx.anomaly_level("pressure_drop", t_ms)
        pressure = pressure - 25.0 * leak * (pressure > 150.0)
        power = power * (1.0 + 0.15 * leak) * noise.jitter(ctx.seed, ctx.asset_key, t_ms)
        power = apply_overrides(np.clip(power, self.idle_kw, self.rated_kw), ctx.overrides)
        first_sample = (t_ms - start) < self.interval_s * 1000
        return {
            "power_kw": power,
            "pressure_bar": pressure,
            "cycle_count": (active & first_sample).astype(np.float64),
            "throughput_uph": np.where(active, 3600.0 / self.cycle_s, 0.0),  # batches/h
            "operating_mode": operating_mode(active, ctx),
            "_on": on_array(t_ms, ctx),
        }


#: Material -> (cycle time [s], heating power [kW]); heavier, hotter polymers cycle slower.
#: The order is the ``recipe`` code (the molding machines' ``attributes.recipes``).
MATERIALS: dict[str, tuple[float, float]] = {
    "PP": (60.0, 140.0),
    "ABS": (90.0, 160.0),
    "PC": (120.0, 185.0),
    "PA66": (180.0, 190.0),
}
#: Material moisture [%]: its mean (the heating power of ``MATERIALS`` holds there), spread
#: (one standard deviation, a smooth process over ``MOISTURE_PERIOD_MS``) and bounds.
MOISTURE_MEAN_PCT, MOISTURE_SD_PCT, MOISTURE_RANGE_PCT = 0.2, 0.08, (0.02, 0.6)
MOISTURE_PERIOD_MS = 4 * 3_600_000
#: Extra heating power per % of moisture above the mean (drying the melt) [fraction per %].
MOISTURE_HEAT_PER_PCT = 1.0


def material_moisture(t_ms: NDArray[np.int64], ctx: SimContext) -> Array:
    """The material's moisture content [%] (a smooth random process per machine)."""
    wave = noise.smooth(ctx.seed, ctx.asset_key + "/moisture", t_ms, MOISTURE_PERIOD_MS)
    return np.clip(MOISTURE_MEAN_PCT + MOISTURE_SD_PCT * wave, *MOISTURE_RANGE_PCT)


@dataclass(frozen=True)
class InjectionMolding:
    """Injection molding machine, 30 s (mean power over the interval), 25-200 kW.

    Cycles heating (35 %) -> injection (15 %, 195 kW) -> cooling (50 %, 40 kW); cycle time and
    heating power depend on the material (``MATERIALS``) and its moisture (heating power x
    (1 + ``MOISTURE_HEAT_PER_PCT`` x (moisture - mean)), so the mean keeps ``kwh_per_unit``).
    A cycle runs with a probability equal to the production intensity and makes ``cavities``
    parts; otherwise the barrel heaters hold temperature at 25 kW. ``operating_state``: 0 idle,
    1 heating, 2 injection, 3 cooling.
    Anomaly ``heater_fault``: heating power up to +25 %. Deferrable: a ``set_power_limit``
    caps it and the energy held back is made up after the limit is lifted
    (``sim.dr_response.defer``).
    """

    material: str = "PP"
    cavities: int = 4
    idle_kw: float = 25.0
    rated_kw: float = 200.0
    kind: str = "injection_molding"
    interval_s: float = 30.0
    counters: tuple[str, ...] = ("production_count",)
    registers: tuple[tuple[str, str, float], ...] = MACHINE_REGISTERS
    anomaly_kinds: tuple[str, ...] = ("heater_fault",)

    @property
    def cycle_s(self) -> float:
        return MATERIALS[self.material][0]

    def _phase_power(self, phase: Array) -> Array:
        heating_kw = MATERIALS[self.material][1]
        return np.where(phase < 0.35, heating_kw, np.where(phase < 0.5, 195.0, 40.0))

    @property
    def kwh_per_unit(self) -> float:
        """True energy per part above idle [kWh/part]."""
        heating_kw = MATERIALS[self.material][1]
        cycle_kw = 0.35 * heating_kw + 0.15 * 195.0 + 0.5 * 40.0
        return (cycle_kw - self.idle_kw) * self.cycle_s / 3600.0 / self.cavities

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        period = int(self.cycle_s * 1000)
        sub = np.arange(0, int(self.interval_s), dtype=np.int64) * 1000  # 1 s sub-samples
        fine = (t_ms[:, None] + sub[None, :]).ravel()
        cycle = _idx(fine, period)
        intensity = production_intensity(ctx.local(cycle * period))
        active = noise.uniform(ctx.seed, ctx.asset_key + "/cycle", cycle) < intensity
        active &= ctx.overrides.running
        phase = (fine - cycle * period) / period
        power = self._phase_power(phase)
        fault = ctx.anomaly_level("heater_fault", fine)
        wet = MOISTURE_HEAT_PER_PCT * (material_moisture(fine, ctx) - MOISTURE_MEAN_PCT)
        power = np.where(phase < 0.35, power * (1.0 + 0.25 * fault + wet), power)
        power = np.where(active, power, self.idle_kw).reshape(len(t_ms), len(sub)).mean(axis=1)
        power = np.clip(power * noise.jitter(ctx.seed, ctx.asset_key, t_ms), self.idle_kw,
                        self.rated_kw)  # fmt: skip
        power, ctx.state[DEFERRED_KEY] = defer(
            power, limit_kw=ctx.overrides.power_limit_kw, rated_kw=self.rated_kw,
            deferred_kwh=ctx.state.get(DEFERRED_KEY, 0.0), dt_h=self.interval_s / 3600.0,
        )  # fmt: skip
        power = apply_overrides(power, replace(ctx.overrides, power_limit_kw=None))
        starts = (active & (fine % period == 0)).reshape(len(t_ms), len(sub)).sum(axis=1)
        first = active.reshape(len(t_ms), len(sub))[:, 0]
        p0 = phase.reshape(len(t_ms), len(sub))[:, 0]
        state = np.where(first, np.where(p0 < 0.35, 1, np.where(p0 < 0.5, 2, 3)), 0)
        return {
            "power_kw": power,
            "production_count": starts.astype(np.float64) * self.cavities,
            "operating_state": state.astype(np.float64),
            "throughput_uph": np.where(first, self.cavities * 3600.0 / self.cycle_s, 0.0),
            "operating_mode": operating_mode(first, ctx),
            "recipe": np.full(len(t_ms), float(list(MATERIALS).index(self.material))),
            "material_moisture_pct": material_moisture(t_ms, ctx),
            "_on": on_array(t_ms, ctx),
        }
