"""Measured reduction vs the simulated truth (issue #17's target: within +-10 %).

The simulator is deterministic from its seed, so the office building run without the event is
the truth (the counterfactual). On each of ten June weekdays an event 14:00-16:00 (Rome) gets
fixed commands held by hand: the HVAC setpoint +2 K (24 degC) and the lighting switched off,
released at the end (events dispatched by the DR loop, with the lighting dimmed and re-plans,
are measured the same way by ``bench/dr_counterfactual.py``). The measured reduction is the
CAISO 10-in-10 baseline (from the history before, and the event morning) minus the metered
consumption, as the dr domain measures it; the true one is the run without commands minus
the same consumption."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from gridpilot.analytics.cbl import customer_baseline
from gridpilot.sim.buildings import BuildingHvac, Lighting, PlugLoads
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.model import DeviceModel, Overrides, SimContext
from gridpilot.sim.weather import WeatherModel

ROME = ZoneInfo("Europe/Rome")
LAT, LON, SEED = 45.464, 9.190, 42
Q = 900_000
DAY = 86_400_000
MODELS: dict[str, DeviceModel] = {
    "hvac": BuildingHvac(), "lighting": Lighting(LAT, LON), "plugs": PlugLoads(),
}  # fmt: skip
COMMANDS = {"hvac": Overrides(setpoint=24.0), "lighting": Overrides(running=False)}


def _ms(day: str, hour: int) -> int:
    return int(datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=ROME).timestamp()
               * 1000)  # fmt: skip


def _consumption(start: int, end: int, event: tuple[int, int] | None) -> pd.Series:
    """The building's consumption [kW] per 15 min over [start, end), the commands in force
    during ``event``."""
    total = np.zeros((end - start) // Q)
    for key, model in MODELS.items():
        ctx = SimContext(SEED, "Europe/Rome", WeatherModel(SEED, LAT, LON), f"building/{key}",
                         random_anomalies=False)  # fmt: skip
        cuts = [start, end] if event is None else [start, *event, end]
        parts = []
        for a, b in pairwise(cuts):
            held = event is not None and a == event[0] and key in COMMANDS
            ctx.overrides = COMMANDS[key] if held else Overrides()
            _, out = generate(model, ctx, a, b, step_ms=Q, accumulator=Accumulator())
            parts.append(out["power_kw"])
        total += np.concatenate(parts)
    index = pd.to_datetime(np.arange(start, end, Q), unit="ms", utc=True)
    return pd.Series(total, index=index)


def _one_event(day: str) -> tuple[float, float]:
    """(measured, true) mean reduction [kW] of an event 14-16 h on ``day``."""
    start, end = _ms(day, 14), _ms(day, 16)
    history_start = start - 30 * DAY - start % DAY
    day_end = _ms(day, 0) + DAY
    truth = _consumption(history_start, day_end, None)
    metered = _consumption(history_start, day_end, (start, end))
    cbl = customer_baseline(metered[metered.index < pd.Timestamp(start, unit="ms", tz="UTC")],
                            event_start=pd.Timestamp(start, unit="ms", tz="UTC"),
                            event_end=pd.Timestamp(end, unit="ms", tz="UTC"),
                            timezone="Europe/Rome", method="caiso_10in10",
                            holiday_country="IT")  # fmt: skip
    during = (metered.index >= cbl.baseline_kw.index[0]) & (
        metered.index <= cbl.baseline_kw.index[-1]
    )
    measured = float((cbl.baseline_kw.to_numpy() - metered[during].to_numpy()).mean())
    true = float((truth[during].to_numpy() - metered[during].to_numpy()).mean())
    return measured, true


DAYS = [f"2026-06-{d:02d}" for d in (15, 16, 17, 18, 19, 22, 23, 24, 25, 26)]


def test_measured_reduction_against_the_simulated_truth():
    """Per event the baseline's own error (the weather moves the HVAC load by a few kW from day
    to day) is up to a quarter of the reduction; over the ten events the measured reduction
    is within 10 % of the truth. Figures of 2026-12-04 (docs/simulator.md): mean error
    -2.0 %, 5 of 10 events within +-10 %, the worst -23.7 %."""
    errors = []
    for day in DAYS:
        measured, true = _one_event(day)
        errors.append(100 * (measured - true) / true)
        print(f"{day}: measured {measured:.2f} kW, true {true:.2f} kW, error {errors[-1]:+.1f} %")
        assert 30.0 < true < 50.0  # kW: HVAC +2 K and the lighting off in a full office
        assert abs(errors[-1]) < 25.0
    assert abs(float(np.mean(errors))) < 10.0
