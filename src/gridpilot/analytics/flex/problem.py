"""The inputs of a day-ahead schedule: step length, forecasts, prices, resources, limits.

Every series has one value per step (the average over the step). ``load_kw`` is the
inflexible site load (it includes the curtailable loads' forecast), ``pv_kw`` the available
PV output. The demand charge is ``demand_charge_eur_per_kw`` x max(0, peak import -
``incumbent_peak_kw``): the peak already set this billing period is paid anyway, so the plan
never spends energy to beat it (the floor of the demand charge).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridpilot.core.errors import ValidationFailed

from .resources import Battery, CurtailableLoad, DeferrableLoad, EVSession, SiteLimits

Vector = NDArray[np.float64]


def _series(name: str, values: ArrayLike, steps: int, nonnegative: bool) -> Vector:
    array = np.array(values, dtype=np.float64).reshape(-1)
    if array.size == 1:
        array = np.full(steps, float(array[0]))
    if array.size != steps:
        raise ValidationFailed(f"{name} has {array.size} values, the horizon has {steps} steps")
    if not np.all(np.isfinite(array)):
        raise ValidationFailed(f"{name} has a missing or infinite value")
    if nonnegative and np.any(array < 0):
        raise ValidationFailed(f"{name} must not be negative")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class FlexProblem:
    """A site's day-ahead scheduling problem (see the module docstring for the conventions).

    Each series is one value per step or a scalar (the same in every step); the horizon is the
    longest series. Export prices may be negative.
    """

    step_h: float
    load_kw: Vector
    pv_kw: Vector
    import_price_eur_per_kwh: Vector
    export_price_eur_per_kwh: Vector
    batteries: Sequence[Battery] = ()
    ev_sessions: Sequence[EVSession] = ()
    deferrable_loads: Sequence[DeferrableLoad] = ()
    curtailable_loads: Sequence[CurtailableLoad] = ()
    limits: SiteLimits = field(default_factory=SiteLimits)
    demand_charge_eur_per_kw: float = 0.0
    incumbent_peak_kw: float = 0.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.step_h) and self.step_h > 0):
            raise ValidationFailed("step_h must be a positive number of hours")
        series = ("load_kw", "pv_kw", "import_price_eur_per_kwh", "export_price_eur_per_kwh")
        steps = max(np.size(getattr(self, name)) for name in series)
        if steps == 0:
            raise ValidationFailed("the horizon needs at least one step")
        set_ = object.__setattr__
        for name in series:
            nonnegative = name in ("load_kw", "pv_kw")
            set_(self, name, _series(name, getattr(self, name), steps, nonnegative))
        for name in ("batteries", "ev_sessions", "deferrable_loads", "curtailable_loads"):
            set_(self, name, tuple(getattr(self, name)))
        self._check_names()
        self._check_windows(steps)
        if not (np.isfinite(self.demand_charge_eur_per_kw) and self.demand_charge_eur_per_kw >= 0):
            raise ValidationFailed("demand_charge_eur_per_kw must be >= 0")
        if not (np.isfinite(self.incumbent_peak_kw) and self.incumbent_peak_kw >= 0):
            raise ValidationFailed("incumbent_peak_kw must be >= 0")

    def _check_names(self) -> None:
        groups = (self.batteries, self.ev_sessions, self.deferrable_loads, self.curtailable_loads)
        names = [r.name for group in groups for r in group]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValidationFailed(f"resource names must be unique; repeated: {duplicates}")

    def _check_windows(self, steps: int) -> None:
        for ev in self.ev_sessions:
            if ev.arrival_step >= steps:
                raise ValidationFailed(f"EV session {ev.name!r} arrives after the horizon")
        for load in self.deferrable_loads:
            if load.window_start_step >= steps:
                raise ValidationFailed(f"deferrable load {load.name!r} starts after the horizon")

    @property
    def steps(self) -> int:
        return int(self.load_kw.size)

    def window(self, load: DeferrableLoad) -> range:
        """The steps a deferrable load may run in, clipped to the horizon."""
        end = self.steps if load.window_end_step is None else min(load.window_end_step, self.steps)
        return range(load.window_start_step, end)

    def plug_window(self, ev: EVSession) -> range:
        """The steps an EV may charge in, clipped to the horizon."""
        return range(ev.arrival_step, min(ev.departure_step, self.steps))

    def ev_energy_due_kwh(self, ev: EVSession) -> float:
        """The energy the EV must get inside the horizon [kWh]: all of it when it leaves inside
        the horizon, else what could not be delivered after the horizon at full power."""
        after_steps = max(0, ev.departure_step - self.steps)
        return max(0.0, ev.energy_kwh - ev.power_max_kw * self.step_h * after_steps)

    def cut_by_horizon(self, load: DeferrableLoad) -> bool:
        """Whether the load's window ends after the horizon."""
        return load.window_end_step is not None and load.window_end_step > self.steps

    def run_fits(self, load: DeferrableLoad) -> bool:
        """Whether a one-block load's whole run fits in its window's steps inside the horizon:
        at least ``min_run_steps`` and as many steps as its energy needs at full power."""
        needed = math.ceil(load.energy_kwh / (load.power_max_kw * self.step_h) - 1e-9)
        return max(needed, load.min_run_steps) <= len(self.window(load))

    def deferrable_energy_kwh(self, load: DeferrableLoad) -> tuple[float, float]:
        """The least and most energy [kWh] the load takes inside the horizon.

        A window inside the horizon: all of it. A window cut by the horizon's end: a load that
        runs in one block takes its whole energy when its run fits in the window's part inside
        the horizon, else nothing (a later plan, seeing more of the window, takes it): never a
        run cut in two or a prorated energy. An interruptible load takes at least what could not
        run after the horizon at full power (like an EV) and at most all of it.
        """
        if not self.cut_by_horizon(load):
            return load.energy_kwh, load.energy_kwh
        if not load.interruptible:
            energy = load.energy_kwh if self.run_fits(load) else 0.0
            return energy, energy
        after_steps = (load.window_end_step or self.steps) - self.steps
        after_kwh = load.power_max_kw * self.step_h * after_steps
        return max(0.0, load.energy_kwh - after_kwh), load.energy_kwh

    def left_to_later(self, load: DeferrableLoad) -> bool:
        """A one-block load with energy to take whose run does not fit before the horizon ends."""
        return self.deferrable_energy_kwh(load)[1] == 0 < load.energy_kwh

    def deferrable_energy_due_kwh(self, load: DeferrableLoad) -> float:
        """The least energy [kWh] the load must take inside the horizon."""
        return self.deferrable_energy_kwh(load)[0]
