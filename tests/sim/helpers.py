"""Shared helpers of the simulator tests: contexts and time grids."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from gridpilot.sim.clock import MS_PER_DAY, grid
from gridpilot.sim.model import DeviceModel, SimContext
from gridpilot.sim.weather import WeatherModel

#: Monday 2026-06-01 00:00 UTC and Monday 2026-01-05 00:00 UTC.
JUNE_MONDAY = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
JANUARY_MONDAY = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)


def ctx(
    key: str = "asset",
    seed: int = 7,
    *,
    random_anomalies: bool = False,
    lat: float = 44.494,
    lon: float = 11.343,
) -> SimContext:
    return SimContext(
        seed=seed,
        timezone="Europe/Rome",
        weather_model=WeatherModel(seed, lat, lon),
        asset_key=key,
        random_anomalies=random_anomalies,
    )


def run(
    model: DeviceModel, start_ms: int, days: float, context: SimContext | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    t = grid(start_ms, start_ms + int(days * MS_PER_DAY), int(model.interval_s * 1000))
    return t, model.simulate(t, context or ctx(model.kind))
