"""Flexible resources of a site and its grid limits (frozen, validated on construction).

Time inside a problem is counted in steps of the problem's ``step_h``: a resource's window
``[start_step, end_step)`` covers the steps ``start_step .. end_step - 1``; ``end_step`` is the
first step *after* the window (an EV leaving at step 32 can charge up to step 31 inclusive).
Powers are in kW at the site's connection point, energies in kWh. Every check raises
``ValidationFailed`` with the resource's name and the field at fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gridpilot.core.errors import ValidationFailed


def _require(condition: bool, what: str, name: str, message: str) -> None:
    if not condition:
        raise ValidationFailed(f"{what} {name!r}: {message}")


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


@dataclass(frozen=True)
class Battery:
    """A stationary battery.

    ``soc_*_frac`` are fractions of ``capacity_kwh`` (0..1). ``soc_end_frac`` is the terminal
    state of charge the plan must reach at least; ``None`` means "at least where it started"
    (when the start is inside the band; a start outside the band only has to move toward it).
    ``wear_cost_eur_per_kwh`` is charged on the throughput, charge plus discharge energy [kWh]
    (a cycle cost of X EUR per kWh cycled is about X / 2 here).
    """

    name: str
    capacity_kwh: float
    charge_max_kw: float
    discharge_max_kw: float
    soc_start_frac: float
    soc_min_frac: float = 0.1
    soc_max_frac: float = 0.9
    soc_end_frac: float | None = None
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    wear_cost_eur_per_kwh: float = 0.0

    def __post_init__(self) -> None:
        numbers: tuple[float, ...] = (self.capacity_kwh, self.charge_max_kw, self.discharge_max_kw)
        numbers += (self.soc_start_frac, self.soc_min_frac, self.soc_max_frac)
        numbers += (self.charge_efficiency, self.discharge_efficiency, self.wear_cost_eur_per_kwh)
        _require(_finite(*numbers), "battery", self.name, "every figure must be finite")
        _require(self.capacity_kwh > 0, "battery", self.name, "capacity_kwh must be > 0")
        _require(
            self.charge_max_kw >= 0 and self.discharge_max_kw >= 0,
            "battery",
            self.name,
            "charge_max_kw and discharge_max_kw must be >= 0",
        )
        _require(
            0 <= self.soc_min_frac <= self.soc_max_frac <= 1,
            "battery",
            self.name,
            "need 0 <= soc_min_frac <= soc_max_frac <= 1",
        )
        _require(0 <= self.soc_start_frac <= 1, "battery", self.name, "soc_start_frac is 0..1")
        if self.soc_end_frac is not None:
            _require(
                self.soc_min_frac <= self.soc_end_frac <= self.soc_max_frac,
                "battery",
                self.name,
                "soc_end_frac must lie in [soc_min_frac, soc_max_frac]",
            )
        for field_name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, field_name)
            _require(0 < value <= 1, "battery", self.name, f"{field_name} must be in (0, 1]")
        _require(self.wear_cost_eur_per_kwh >= 0, "battery", self.name, "wear cost must be >= 0")

    @property
    def soc_start_kwh(self) -> float:
        return self.soc_start_frac * self.capacity_kwh

    @property
    def soc_min_kwh(self) -> float:
        return self.soc_min_frac * self.capacity_kwh

    @property
    def soc_max_kwh(self) -> float:
        return self.soc_max_frac * self.capacity_kwh

    @property
    def soc_end_min_kwh(self) -> float | None:
        """The hard terminal bound [kWh], or None when the start is outside the band and no
        ``soc_end_frac`` was given (then only the soft band applies)."""
        if self.soc_end_frac is not None:
            return self.soc_end_frac * self.capacity_kwh
        if self.soc_min_frac <= self.soc_start_frac <= self.soc_max_frac:
            return self.soc_start_kwh
        return None


@dataclass(frozen=True)
class EVSession:
    """An EV plugged in from ``arrival_step`` that needs ``energy_kwh`` before ``departure_step``.

    While charging, power lies in [``power_min_kw``, ``power_max_kw``]; a positive minimum (an
    IEC 61851 charger cannot go below 6 A) makes the power semi-continuous: 0 or at least min.
    """

    name: str
    arrival_step: int
    departure_step: int
    energy_kwh: float
    power_max_kw: float
    power_min_kw: float = 0.0

    def __post_init__(self) -> None:
        _require(
            _finite(self.energy_kwh, self.power_max_kw, self.power_min_kw),
            "EV session",
            self.name,
            "every figure must be finite",
        )
        _require(
            0 <= self.arrival_step < self.departure_step,
            "EV session",
            self.name,
            "need 0 <= arrival_step < departure_step",
        )
        _require(self.energy_kwh >= 0, "EV session", self.name, "energy_kwh must be >= 0")
        _require(
            0 <= self.power_min_kw <= self.power_max_kw,
            "EV session",
            self.name,
            "need 0 <= power_min_kw <= power_max_kw",
        )


@dataclass(frozen=True)
class DeferrableLoad:
    """A load that must take ``energy_kwh`` inside ``[window_start_step, window_end_step)``.

    ``window_end_step=None`` means the end of the horizon. Power while running lies in
    [``power_min_kw``, ``power_max_kw``] (equal values: an on/off appliance, as EMHASS's
    semi-continuous loads). Not ``interruptible``: it runs in one block. ``min_run_steps``:
    every run lasts at least that many steps. The load is assumed off before the horizon.
    """

    name: str
    energy_kwh: float
    power_max_kw: float
    power_min_kw: float = 0.0
    window_start_step: int = 0
    window_end_step: int | None = None
    interruptible: bool = True
    min_run_steps: int = 1

    def __post_init__(self) -> None:
        _require(
            _finite(self.energy_kwh, self.power_max_kw, self.power_min_kw),
            "deferrable load",
            self.name,
            "every figure must be finite",
        )
        _require(self.energy_kwh >= 0, "deferrable load", self.name, "energy_kwh must be >= 0")
        _require(
            0 <= self.power_min_kw <= self.power_max_kw and self.power_max_kw > 0,
            "deferrable load",
            self.name,
            "need 0 <= power_min_kw <= power_max_kw and power_max_kw > 0",
        )
        end = self.window_end_step
        _require(
            self.window_start_step >= 0 and (end is None or end > self.window_start_step),
            "deferrable load",
            self.name,
            "need 0 <= window_start_step < window_end_step",
        )
        _require(self.min_run_steps >= 1, "deferrable load", self.name, "min_run_steps >= 1")

    @property
    def needs_binaries(self) -> bool:
        return self.power_min_kw > 0 or not self.interruptible or self.min_run_steps > 1


@dataclass(frozen=True)
class CurtailableLoad:
    """Part of the forecast load that may be shed, up to ``max_shed_kw`` in any step, at
    ``cost_eur_per_kwh`` of energy not served (the value of lost load for that process)."""

    name: str
    max_shed_kw: float
    cost_eur_per_kwh: float

    def __post_init__(self) -> None:
        _require(
            _finite(self.max_shed_kw, self.cost_eur_per_kwh),
            "curtailable load",
            self.name,
            "every figure must be finite",
        )
        _require(self.max_shed_kw >= 0, "curtailable load", self.name, "max_shed_kw must be >= 0")
        _require(self.cost_eur_per_kwh >= 0, "curtailable load", self.name, "cost must be >= 0")


@dataclass(frozen=True)
class SiteLimits:
    """The connection point: ``import_max_kw`` (contract demand) and ``export_max_kw``
    (``math.inf``: no limit), and whether the PV output may be curtailed."""

    import_max_kw: float = math.inf
    export_max_kw: float = math.inf
    pv_curtailable: bool = True

    def __post_init__(self) -> None:
        if math.isnan(self.import_max_kw) or math.isnan(self.export_max_kw):
            raise ValidationFailed("site limits: import_max_kw and export_max_kw must be numbers")
        if self.import_max_kw < 0 or self.export_max_kw < 0:
            raise ValidationFailed("site limits: import_max_kw and export_max_kw must be >= 0")
