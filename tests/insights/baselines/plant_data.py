"""A plant with known physics for baseline and anomaly API tests, written straight into readings.

Daily energy [kWh] = 200 + 1.5 x production + 10 x HDD(15.5 degC) + noise(sd 3); the register and
the production counter are read at hh:30 with everything up to the end of that hour, so each
UTC day's register delta is exactly that day's energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tests.telemetry.query_test_data import DAY, HOUR, T0, insert_readings, metric_id

from gridpilot.auth.permissions import Role
from gridpilot.telemetry.rollups import refresh_pending

HALF_HOUR = HOUR // 2
INTERCEPT, PER_UNIT, PER_HDD, BALANCE = 200.0, 1.5, 10.0, 15.5


@dataclass
class Plant:
    site_id: int
    machine_id: int
    weather_id: int
    admin: dict[str, str]
    days: int


def daily_values(days: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    production = 24.0 * rng.integers(2, 12, days)  # units per day
    temperature = rng.uniform(-2.0, 20.0, days)
    hdd = np.clip(BALANCE - temperature, 0, None)
    energy = INTERCEPT + PER_UNIT * production + PER_HDD * hdd + rng.normal(0, 3.0, days)
    return production, temperature, energy


async def make_plant(
    app, client, sessions, auth_headers, *, name: str = "Plant", days: int = 60,
    energy_factor_after: tuple[int, float] | None = None, spikes: dict[int, float] | None = None,
) -> Plant:  # fmt: skip
    """Site + machine + weather station with ``days`` days of data from T0.

    ``energy_factor_after`` = (day, factor) scales the energy from that day on (a saving);
    ``spikes`` adds kWh to single days (faults).
    """
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await client.post("/api/v1/sites", json={"name": name, "timezone": "UTC"}, headers=admin)
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    ids = []
    for asset_name, kind in (("machine", "machine"), ("weather", "other")):
        asset = await client.post(
            "/api/v1/assets",
            json={"site_id": site_id, "name": f"{name} {asset_name}", "kind": kind},
            headers=admin,
        )
        assert asset.status_code == 201, asset.text
        ids.append(asset.json()["id"])
    machine, weather = ids
    production, temperature, energy = daily_values(days)
    if energy_factor_after is not None:
        start, factor = energy_factor_after
        energy[start:] *= factor
    for day, extra in (spikes or {}).items():
        energy[day] += extra
    e_id = await metric_id(sessions, "energy_kwh")
    p_id = await metric_id(sessions, "production_count")
    t_id = await metric_id(sessions, "temperature_c")
    rows = [(machine, e_id, T0 - HALF_HOUR, 0.0), (machine, p_id, T0 - HALF_HOUR, 0.0)]
    register = counter = 0.0
    for d in range(days):
        for h in range(24):
            ts = T0 + d * DAY + h * HOUR + HALF_HOUR
            register += energy[d] / 24
            counter += production[d] / 24
            rows += [
                (machine, e_id, ts, register),
                (machine, p_id, ts, counter),
                (weather, t_id, ts, float(temperature[d])),
            ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return Plant(site_id, machine, weather, admin, days)


def baseline_body(plant: Plant, **changes: object) -> dict:
    body: dict = {
        "name": "Machine baseline",
        "asset_id": plant.machine_id,
        "granularity": "day",
        "drivers": [
            {"metric": "production_count"},
            {"kind": "hdd", "asset_id": plant.weather_id, "balance_point_c": BALANCE},
        ],
        "start": T0,
        "end": T0 + plant.days * DAY,
    }
    body.update(changes)
    return body
