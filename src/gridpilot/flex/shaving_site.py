"""A site held by the peak-shaving runtime (``shaving_runtime.py``): its settings, the newest
watched readings, the controller's memory, and the rules that read them (no I/O).

The rules (see ``shaving_runtime.py``'s module doc): a meter reading stamped before our last
command does not show its effect yet (unless the interval has passed and it is newer than the
one last acted on); until a battery reading stamped after that command arrives, the commanded
power stands for the measured one; readings older than ``GRIDPILOT_PEAK_SHAVING_MAX_AGE_S``
are not used; a set point is sent when it differs by the deadband, at most once per
``GRIDPILOT_PEAK_SHAVING_MIN_INTERVAL_S`` unless discharging more over the threshold, and
re-sent when half its hold is gone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from gridpilot.analytics.flex import PeakShavingState
from gridpilot.core.settings import Settings
from gridpilot.flex.dispatch import IDLE_KW
from gridpilot.flex.shaving_store import Base, SiteControl


@dataclass
class HeldSite:
    """A held site: its settings, the newest watched readings ``(ts_ms, value)`` and the
    controller's memory."""

    control: SiteControl
    latch: PeakShavingState
    lease_until_ms: int
    grid: tuple[int, float] | None = None
    battery: tuple[int, float] | None = None  # as read: + charging (storage convention)
    soc: tuple[int, float] | None = None
    base: Base | None = None
    last_kw: float | None = None  # our set point in force [kW, + discharge]; None: unknown
    last_ms: int = 0  # when we sent it
    acted_ts: int = 0  # the meter reading it was decided on
    retry_ms: int = 0  # no new attempt before (after a manual override or a refusal)
    timer: asyncio.TimerHandle | None = None

    def keep_grid(self, latest: dict[str, Any]) -> bool:
        """Keep the meter's newer import reading of ``latest`` (metric -> point); whether it
        was newer."""
        point = latest.get(self.control.meter_metric)
        if point is None or (self.grid is not None and point["ts"] <= self.grid[0]):
            return False
        self.grid = (int(point["ts"]), float(point["value"]))
        return True

    def keep_battery(self, latest: dict[str, Any]) -> None:
        """Keep the battery's newer ``power_kw`` and ``soc_pct`` readings of ``latest``."""
        power, soc = latest.get("power_kw"), latest.get("soc_pct")
        if power is not None and (self.battery is None or power["ts"] > self.battery[0]):
            self.battery = (int(power["ts"]), float(power["value"]))
        if soc is not None and (self.soc is None or soc["ts"] > self.soc[0]):
            self.soc = (int(soc["ts"]), float(soc["value"]))

    def after_command(self, grid_ts: int, now: int, settings: Settings) -> bool:
        """Whether a meter reading may show our last command's effect: stamped after it was
        sent; or, once the interval has passed (a meter clock behind ours), newer than the
        reading that command was decided on."""
        if grid_ts >= self.last_ms:
            return True
        waited = now - self.last_ms >= settings.peak_shaving_min_interval_s * 1000
        return waited and grid_ts > self.acted_ts

    def battery_kw(self, now: int, settings: Settings) -> float:
        """The battery's power [kW, + discharge]: measured after our last command, else what
        we commanded, else the last measurement, else 0."""
        max_age_ms = settings.peak_shaving_max_age_s * 1000
        fresh = self.battery is not None and now - self.battery[0] <= max_age_ms
        if self.battery is not None and fresh and self.battery[0] >= self.last_ms:
            return -self.battery[1]
        if self.last_kw is not None:
            return self.last_kw
        return -self.battery[1] if self.battery is not None and fresh else 0.0

    def soc_pct(self, now: int, settings: Settings) -> tuple[float | None, float]:
        """The measured SOC [%] (None when unknown or old) and the one the controller uses
        (the middle of the band when unknown)."""
        s = self.control.settings
        if self.soc is not None and now - self.soc[0] <= settings.peak_shaving_max_age_s * 1000:
            return self.soc[1], self.soc[1]
        return None, (s.soc_min_pct + s.soc_hysteresis_pct + s.soc_max_pct) / 2

    def when(
        self, target: float, current: float, grid_kw: float, now: int, settings: Settings
    ) -> int:
        """0: send now; -1: nothing to send; else the time [ms] to try again (rate limit)."""
        c = self.control
        hold_ms = settings.peak_shaving_hold_s * 1000
        stale = (
            self.last_kw is not None
            and abs(target) >= IDLE_KW
            and now - self.last_ms >= hold_ms / 2
        )
        if abs(target - current) < max(c.deadband_kw, IDLE_KW) and not stale:
            return -1
        next_ms = self.last_ms + int(settings.peak_shaving_min_interval_s * 1000)
        urgent = grid_kw > c.settings.threshold_kw and target > current
        return 0 if now >= next_ms or urgent else next_ms
