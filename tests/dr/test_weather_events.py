"""The ``weather_regression`` baseline of DR events, on both back ends: fitted on the site's own
outdoor-temperature sensor, provisional while the event's temperature is not measured yet, and
settled on the measured temperature once the event has ended, before it is judged."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests.dr.dr_data import ZONE, iso_utc, local_ms, make_site, quarters, shape_kw, store_power
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.dr.tasks import DrRuntime
from gridpilot.telemetry.rollups import refresh_pending

SEED = "/api/dr-events"
EVENTS = "/api/v1/dr-events"
START = local_ms("2026-11-25 14:00")  # a Wednesday in Rome
END = local_ms("2026-11-25 16:00")
DAY_START = local_ms("2026-11-25 00:00")
EVENT_SLOTS = np.arange(56, 64)  # 14:00 .. 15:45 local
HEATING_KW_PER_K = 4.0  # the building's load per degree below 15 degC
SHED_KW = 30.0
MIN = 60_000


def temperature_c(ts: np.ndarray) -> np.ndarray:
    """Outdoor temperature [degC]: a level per local day (1-13 degC, never above the 15 degC
    heating base) and the event day 4 K colder than any day of its last week."""
    local = pd.to_datetime(ts, unit="ms", utc=True).tz_convert(ZONE)
    day = np.asarray(local.day, dtype="float64")
    level = 1.0 + (day * 7) % 13
    return np.where(np.asarray(local.date) == pd.Timestamp("2026-11-25").date(), -3.0, level)


def load_kw(ts: np.ndarray) -> np.ndarray:
    """The building's load [kW]: 20 kW + the daily shape + 4 kW per degree below 15 degC."""
    local = pd.to_datetime(ts, unit="ms", utc=True).tz_convert(ZONE)
    slot = np.asarray(local.hour * 4 + local.minute // 15)
    return 20.0 + shape_kw(slot) + HEATING_KW_PER_K * np.maximum(0.0, 15.0 - temperature_c(ts))


async def store_temperature(app, asset: int, ts: np.ndarray) -> None:
    sessions = app.state.sessions
    metric = await metric_id(sessions, "outdoor_temperature_c")
    rows = [(asset, metric, int(t), float(v)) for t, v in zip(ts, temperature_c(ts), strict=True)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)


def body(site: int, **extra) -> dict:
    return {"facility_id": site, "event_start": iso_utc(START), "event_end": iso_utc(END),
            "target_reduction_kw": 25.0, "baseline_method": "weather_regression",
            **extra}  # fmt: skip


async def test_a_weather_baseline_is_settled_on_the_measured_temperature(app, client, admin):
    site, meter = await make_site(client, admin, "Heated offices")
    history = quarters(DAY_START - 44 * 86_400_000, DAY_START)
    await store_power(app, meter, history, load_kw(history))
    await store_temperature(app, meter, history)  # the HVAC meter's own outdoor sensor

    answer = await client.post(SEED, json=body(site), headers=admin)
    assert answer.status_code == 201, answer.text
    event = answer.json()["event_id"]
    made = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
    assert made["baseline_method"] == "weather_regression"
    adjustment = made["baseline"]["adjustment"]
    assert adjustment["kind"] == "measured_temperature" and adjustment["applied"] is None
    assert "persisted" in adjustment["note"]
    truth = 20.0 + shape_kw(EVENT_SLOTS) + HEATING_KW_PER_K * (15.0 - -3.0)
    provisional = np.array([r["baseline_kw"] for r in made["intervals"]])
    assert (provisional < truth - 20).all()  # a mild week persisted: 4 kW/K x >= 5 K short

    # the event day: the building sheds 30 kW from 14:00 to 16:00 on a -3 degC afternoon
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    for upto in (START + 20 * MIN, END + 5 * MIN):  # readings arrive as the event goes on
        day = quarters(DAY_START if upto < END else START + 30 * MIN, upto + 10 * MIN)
        during = (day >= START) & (day < END)
        await store_temperature(app, meter, day)
        await store_power(app, meter, day, load_kw(day) - np.where(during, SHED_KW, 0.0))
        await runtime.step(upto)
        if upto < END:  # still provisional: the rest of the event's temperature is unknown
            running = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
            assert running["baseline"]["adjustment"]["applied"] is None

    detail = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
    assert detail["baseline"]["adjustment"]["applied"] is True
    assert np.allclose([r["baseline_kw"] for r in detail["intervals"]], truth, atol=1e-3)
    assert detail["status"] == "completed"
    assert abs(detail["achieved_reduction_kw"] - SHED_KW) < 1e-3  # not the provisional's ~10 kW
    assert detail["baseline"]["parameters"]["fit"]["r2"] > 0.999


async def test_a_site_without_an_outdoor_sensor_gets_a_clear_422(app, client, admin):
    site, meter = await make_site(client, admin, "No sensor")
    history = quarters(DAY_START - 30 * 86_400_000, DAY_START)
    await store_power(app, meter, history, load_kw(history))
    answer = await client.post(SEED, json=body(site), headers=admin)
    assert answer.status_code == 422, answer.text
    details = answer.json()["details"]
    assert details == {"method": "weather_regression", "metric": "outdoor_temperature_c"}
    assert "needs the site's outdoor temperature" in answer.json()["message"]
