"""Wind turbines with a documented power curve.

The curve is a generic 2 MW, 90 m rotor, IEC class II turbine (the shape of the published
Vestas V90-2.0 curve, rounded): cut-in 3 m/s, rated from 13 m/s, cut-out 25 m/s. It is
scaled to the turbine's rating. Hub-height wind = the weather's 10 m wind x (hub / 10 m)^0.14
(power-law shear over open land).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridpilot.sim.model import ENERGY_REGISTER, SimContext, apply_overrides
from gridpilot.sim.noise import Array

#: Wind speed at hub [m/s] -> output as a fraction of rated power.
POWER_CURVE_MS = np.array([0, 2.9, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 25.01, 40])
POWER_CURVE_FRACTION = np.array(
    [0, 0, 0.004, 0.04, 0.09, 0.16, 0.26, 0.39, 0.55, 0.72, 0.86, 0.96, 1.0, 1.0, 0.0, 0.0]
)
SHEAR_EXPONENT = 0.14


def power_fraction(hub_wind_ms: Array) -> Array:
    """Output fraction of rated power at ``hub_wind_ms`` (linear between curve points)."""
    return np.interp(hub_wind_ms, POWER_CURVE_MS, POWER_CURVE_FRACTION)


@dataclass(frozen=True)
class WindTurbine:
    rated_kw: float = 2000.0
    hub_height_m: float = 80.0
    kind: str = "wind_onshore"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = ENERGY_REGISTER
    anomaly_kinds: tuple[str, ...] = ("underperformance",)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        wind = ctx.weather(t_ms).wind_speed_ms * (self.hub_height_m / 10.0) ** SHEAR_EXPONENT
        derate = 1.0 - 0.3 * ctx.anomaly_level("underperformance", t_ms)
        power = apply_overrides(self.rated_kw * power_fraction(wind) * derate, ctx.overrides)
        return {"power_kw": power, "wind_speed_ms": wind}
