"""How simulated devices answer demand-response commands physically (pure functions).

- **HVAC setpoint offset, thermal lag and rebound.** The room temperature's deviation
  ``theta`` [K] from its usual setpoint follows the commanded offset ``delta`` [K] as a
  first-order system with time constant ``HVAC_TAU_S`` (25 min, a light office zone):

      theta(t) = delta + (theta0 - delta) * exp(-(t - t0) / tau)     (63.2 % of a step at t = tau)

  The HVAC's thermal power scales by ``1 - s * theta + 2 * s * max(theta - delta, 0)``
  (``s`` the saving per kelvin): while the room warms up the saving grows with it; once the
  offset is removed (``delta`` back to 0) the plant pulls the stored heat back out and draws
  ``1 + s * theta`` until the room has cooled down again: the **rebound**, decaying with the
  same ``tau`` (energy ``s * P * theta0 * tau``).
- **Power limit of a deferrable machine.** The energy a cap keeps from a machine is owed
  (``deferred_kwh``) and made up whenever it draws less than the cap allows (within the
  machine's rating once the cap is lifted or raised to it): production is shifted, not lost,
  and a cap raised step by step (DR's restore) also paces the make-up.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from gridpilot.sim.noise import Array

#: Time constant of the office HVAC's room temperature [s] (25 min).
HVAC_TAU_S = 1500.0
#: State keys the models carry across chunks in ``SimContext.state``.
THETA_KEY, THETA_MS_KEY, DEFERRED_KEY = "hvac_theta_k", "hvac_theta_ms", "deferred_kwh"


def first_order(theta0: float, target: float, elapsed_s: Array, tau_s: float) -> Array:
    """A first-order lag's value ``elapsed_s`` after starting at ``theta0`` towards ``target``."""
    if tau_s <= 0:
        return np.full_like(np.asarray(elapsed_s, dtype=np.float64), target)
    decay = np.exp(-np.maximum(np.asarray(elapsed_s, dtype=np.float64), 0.0) / tau_s)
    return target + (theta0 - target) * decay


def lagged_offset(
    t_ms: NDArray[np.int64], delta_k: float, state: dict[str, float], tau_s: float = HVAC_TAU_S
) -> Array:
    """The room's deviation [K] at each of ``t_ms`` (one chunk, constant command ``delta_k``)
    continuing from ``state`` (none, or a chunk before it: settled at ``delta_k``); the state
    moves to the last sample."""
    if len(t_ms) == 0:
        return np.zeros(0)
    since = state.get(THETA_MS_KEY, float(t_ms[0]))
    if since > t_ms[0]:  # generated again from an earlier time: start settled
        since = float(t_ms[0])
        state.pop(THETA_KEY, None)
    theta0 = state.get(THETA_KEY, delta_k)
    theta = first_order(theta0, delta_k, (np.asarray(t_ms, dtype=np.float64) - since) / 1000.0,
                        tau_s)  # fmt: skip
    state[THETA_KEY], state[THETA_MS_KEY] = float(theta[-1]), float(t_ms[-1])
    return theta


def hvac_factor(theta_k: Array, delta_k: float, saving_per_k: float) -> Array:
    """Factor on the HVAC's thermal power: saving while warming, rebound while cooling back."""
    theta = np.asarray(theta_k, dtype=np.float64)
    factor = 1.0 - saving_per_k * theta + 2.0 * saving_per_k * np.maximum(theta - delta_k, 0.0)
    return np.clip(factor, 0.0, 2.0)


def defer(
    power_kw: Array,
    *,
    limit_kw: float | None,
    rated_kw: float,
    deferred_kwh: float,
    dt_h: float,
) -> tuple[Array, float]:
    """Power under a cap (``limit_kw``; None: no cap) with the energy kept from the machine
    owed and made up whenever it draws less than it may: below ``min(rated_kw, limit_kw)``
    (a cap at or above the rating lifts it); ``(power, still owed [kWh])``. A sample above
    the cap adds to the debt, a sample below it pays as much back as the room allows."""
    power = np.asarray(power_kw, dtype=np.float64)
    ceiling = rated_kw if limit_kw is None else min(rated_kw, max(limit_kw, 0.0))
    if deferred_kwh <= 1e-9 and bool(np.all(power <= ceiling)):
        return power, 0.0
    out = power.copy()
    owed = max(deferred_kwh, 0.0)
    for i, p in enumerate(power.tolist()):
        if p > ceiling:
            owed += (p - ceiling) * dt_h
            out[i] = ceiling
        elif owed > 1e-9:
            extra = min(ceiling - p, owed / dt_h)
            out[i] = p + extra
            owed -= extra * dt_h
    return out, owed if not math.isclose(owed, 0.0, abs_tol=1e-9) else 0.0
