"""What every device model shares: the simulation context, anomalies and command overrides.

A model is ``simulate(t_ms, ctx) -> {metric: array}`` over a time grid of epoch milliseconds.
``power_kw`` is always present; keys listed in the model's ``counters`` are per-sample
increments (units, cycles) that the runner accumulates into cumulative counters; the runner
also integrates power into the registers the model lists in ``registers`` as
``(register, power metric, sign)`` (``sign * power`` where positive, held over each sample
interval), so registers are consistent with power by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from gridpilot.core.errors import ValidationFailed
from gridpilot.sim import noise
from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR, LocalTime
from gridpilot.sim.noise import Array
from gridpilot.sim.weather import Weather, WeatherModel

#: The usual register: ``energy_kwh`` integrates positive ``power_kw`` (kWh).
ENERGY_REGISTER: tuple[tuple[str, str, float], ...] = (("energy_kwh", "power_kw", 1.0),)

#: Chance that a machine shows a spontaneous anomaly on a given day (seed: 10 %/day).
DAILY_ANOMALY_PROBABILITY = 0.10


@dataclass(frozen=True)
class Anomaly:
    """A fault that grows linearly from ``start_ms`` over ``duration_ms`` (then stays, until
    ``start_ms + duration_ms + hold_ms``). ``severity`` scales the effect (1 = nominal)."""

    kind: str
    start_ms: int
    duration_ms: int
    severity: float = 1.0
    hold_ms: int = 0

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms + self.hold_ms

    def progress(self, t_ms: NDArray[np.int64]) -> Array:
        """0 before, ramping to ``severity`` over the duration, 0 after the end."""
        ramp = np.clip((t_ms - self.start_ms) / max(self.duration_ms, 1), 0.0, 1.0)
        inside = (t_ms >= self.start_ms) & (t_ms < self.end_ms)
        return np.where(inside, ramp * self.severity, 0.0)


@dataclass
class Overrides:
    """State set by device commands (live mode): stopped, a power limit, a setpoint, and a
    forced storage power (``charge`` > 0 / ``discharge`` < 0, kW) with the SOC it stops at
    (``target_soc_pct`` / ``min_soc_pct``) and its end (``duration_s`` after it arrived).

    ``remote``: a timed ``charge``/``discharge`` (an EMS set point: the flex MPC sends one per
    step) puts a battery or EV charger under remote control; between set points it holds
    0 kW instead of its own pattern (a battery's time shift, an EV charger's random sessions),
    as a device in an EMS's remote mode does, until ``power_kw: null`` hands it back. A
    ``setpoint`` with ``power_kw`` (peak shaving sends ``0`` to hold a battery idle) is a forced
    power without an end, in the device's own sign (> 0 charging, < 0 discharging): 0 kW is a
    set point like any other, not "no set point"."""

    running: bool = True
    power_limit_kw: float | None = None
    setpoint: float | None = None
    forced_kw: float | None = None
    forced_soc_pct: float | None = None
    forced_until_ms: int | None = None
    remote: bool = False


#: The device commands a simulated device follows (``control.kinds``).
COMMAND_KINDS = ("set_power_limit", "start", "stop", "setpoint", "charge", "discharge")
#: Parameter names a ``setpoint`` may carry (control.kinds), first present wins.
SETPOINT_PARAMS = (
    "temperature_c",
    "power_kw",
    "soc_pct",
    "humidity_pct",
    "pressure_bar",
    "flow_m3h",
    "value",
)


def apply_command(
    overrides: Overrides, kind: str, params: dict[str, Any], at_ms: int | None = None
) -> str:
    """Apply a device command (arrived at ``at_ms``, which times a ``duration_s``) to
    ``overrides``; returns a detail text, raises ValidationFailed."""
    if kind == "stop":
        overrides.running = False
        return "stopped"
    if kind == "start":
        overrides.running = True
        return "started"
    if kind == "set_power_limit":
        return _set_power_limit(overrides, params)
    if kind in ("charge", "discharge"):
        return _force_power(overrides, kind, params, at_ms)
    if kind == "setpoint":
        return _setpoint(overrides, params)
    raise ValidationFailed(f"unknown command kind {kind!r}; known: {', '.join(COMMAND_KINDS)}")


def _set_power_limit(overrides: Overrides, params: dict[str, Any]) -> str:
    value = params.get("limit_kw", params.get("power_limit_kw", params.get("value")))
    if value is None:
        overrides.power_limit_kw = None
        return "power limit removed"
    if not isinstance(value, int | float) or value < 0:
        raise ValidationFailed("set_power_limit needs params.limit_kw >= 0 (kW) or null")
    overrides.power_limit_kw = float(value)
    return f"power limited to {float(value):g} kW"


def _force_power(overrides: Overrides, kind: str, params: dict[str, Any], at_ms: int | None) -> str:
    """``charge``/``discharge`` at ``power_kw`` (to the target or minimum SOC, for
    ``duration_s``); a null power hands the device back to its own operation."""
    power = params.get("power_kw")
    if power is None:  # the EMS hands the device back to its own operation
        overrides.forced_kw = overrides.forced_soc_pct = overrides.forced_until_ms = None
        overrides.remote = False
        return "back to its own operation"
    if not isinstance(power, int | float) or power <= 0:
        raise ValidationFailed(f"{kind} needs params.power_kw > 0 (kW) or null")
    overrides.forced_kw = float(power) if kind == "charge" else -float(power)
    soc = params.get("target_soc_pct" if kind == "charge" else "min_soc_pct")
    overrides.forced_soc_pct = float(soc) if isinstance(soc, int | float) else None
    duration_s = params.get("duration_s")
    overrides.forced_until_ms = (
        int(at_ms + duration_s * 1000)
        if isinstance(duration_s, int | float) and at_ms is not None
        else None
    )
    overrides.remote = overrides.forced_until_ms is not None
    return f"{kind} at {float(power):g} kW"


def _setpoint(overrides: Overrides, params: dict[str, Any]) -> str:
    """The first of ``SETPOINT_PARAMS`` given; a storage device's ``power_kw`` (0 included)
    is held until the next command."""
    key, value = next(
        ((k, params[k]) for k in SETPOINT_PARAMS if params.get(k) is not None), (None, None)
    )
    if value is not None and not isinstance(value, int | float):
        raise ValidationFailed("setpoint needs a numeric params.value (or null to clear)")
    overrides.setpoint = float(value) if value is not None else None
    if key == "power_kw" and value is not None:
        overrides.forced_kw = float(value)
        overrides.forced_soc_pct = None
        overrides.forced_until_ms = None
        overrides.remote = True
        return f"power set point {float(value):g} kW"
    return f"setpoint {value}"


@dataclass
class SimContext:
    """Everything a model may look at besides time."""

    seed: int
    timezone: str
    weather_model: WeatherModel
    asset_key: str
    injected: list[Anomaly] = field(default_factory=list)
    overrides: Overrides = field(default_factory=Overrides)
    random_anomalies: bool = True
    state: dict[str, float] = field(default_factory=dict)  # carried across chunks (battery SOC)
    #: The contexts of the devices this one drives (``part``): their commands and state.
    parts: dict[str, SimContext] = field(default_factory=dict)

    def part(self, name: str) -> SimContext:
        """The context of part ``name`` (a home battery behind a member's meter): its own
        overrides (the part asset's commands) and state (its SOC), made on first use."""
        found = self.parts.get(name)
        if found is None:
            found = SimContext(
                seed=self.seed, timezone=self.timezone, weather_model=self.weather_model,
                asset_key=f"{self.asset_key}/{name}", random_anomalies=False,
            )  # fmt: skip
            self.parts[name] = found
        return found

    def local(self, t_ms: NDArray[np.int64]) -> LocalTime:
        return LocalTime.of(t_ms, self.timezone)

    def weather(self, t_ms: NDArray[np.int64]) -> Weather:
        return self.weather_model.at(t_ms)

    def anomaly_level(self, kind: str, t_ms: NDArray[np.int64]) -> Array:
        """Combined progress (0..) of the spontaneous and injected anomalies of ``kind``."""
        level = np.zeros(len(t_ms))
        anomalies = [a for a in self.injected if a.kind == kind]
        if self.random_anomalies and len(t_ms):
            anomalies += daily_anomalies(self.seed, self.asset_key, kind, t_ms)
        for anomaly in anomalies:
            level = np.maximum(level, anomaly.progress(t_ms))
        return level


def daily_anomalies(seed: int, asset_key: str, kind: str, t_ms: NDArray[np.int64]) -> list[Anomaly]:
    """Spontaneous anomalies touching ``t_ms``: each day, with probability 10 %, one anomaly
    starting at a random time, growing over 1-4 h and lasting up to 2 h more."""
    stream = f"anomaly/{asset_key}/{kind}"
    days = np.arange(int(t_ms[0]) // MS_PER_DAY - 1, int(t_ms[-1]) // MS_PER_DAY + 1)
    hit = noise.uniform(seed, stream, days) < DAILY_ANOMALY_PROBABILITY
    result = []
    for day in days[hit]:
        start = int(day) * MS_PER_DAY + int(
            noise.uniform(seed, stream + "/start", day)[0] * MS_PER_DAY
        )
        duration = int((1 + 3 * noise.uniform(seed, stream + "/ramp", day)[0]) * MS_PER_HOUR)
        hold = int(2 * noise.uniform(seed, stream + "/hold", day)[0] * MS_PER_HOUR)
        result.append(Anomaly(kind, start, duration, 1.0, hold))
    return result


#: Between a part's name and its metric in a driving model's output (``battery:soc_pct``).
PART_SEPARATOR = ":"


def part_metric(part: str, metric: str) -> str:
    return f"{part}{PART_SEPARATOR}{metric}"


def split_parts(values: dict[str, Array]) -> tuple[dict[str, Array], dict[str, dict[str, Array]]]:
    """A driving model's output as its own metrics and each part's (``battery:power_kw`` is
    part ``battery``'s ``power_kw``)."""
    own: dict[str, Array] = {}
    parts: dict[str, dict[str, Array]] = {}
    for key, array in values.items():
        part, sep, metric = key.partition(PART_SEPARATOR)
        if sep:
            parts.setdefault(part, {})[metric] = array
        else:
            own[key] = array
    return own, parts


class DeviceModel(Protocol):
    """A simulated device: native sampling interval and the arrays it produces."""

    @property
    def kind(self) -> str: ...
    @property
    def interval_s(self) -> float: ...
    @property
    def counters(self) -> tuple[str, ...]: ...
    @property
    def anomaly_kinds(self) -> tuple[str, ...]: ...
    @property
    def registers(self) -> tuple[tuple[str, str, float], ...]: ...

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]: ...


def apply_overrides(power_kw: Array, overrides: Overrides, standby_kw: float = 0.0) -> Array:
    """Stopped devices draw ``standby_kw``; a power limit caps the magnitude of power."""
    if not overrides.running:
        return np.full_like(power_kw, standby_kw)
    if overrides.power_limit_kw is not None:
        limit = max(overrides.power_limit_kw, 0.0)
        return np.clip(power_kw, -limit, limit)
    return power_kw
