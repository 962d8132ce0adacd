"""Anomaly scans through the API on both back ends: z-score vs a baseline, Isolation Forest and
the leak trend test on stored telemetry; results stored once, published, listed with scope."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text
from tests.insights.baselines.plant_data import baseline_body, make_plant
from tests.telemetry.query_test_data import DAY, T0, insert_readings, metric_id

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 900_000
HOUR_MS = 3_600_000


async def test_zscore_scan_flags_the_spike_day_and_publishes_once(
    app, client, sessions, auth_headers
):
    plant = await make_plant(
        app,
        client,
        sessions,
        auth_headers,
        days=75,
        spikes={66: 60.0},  # +20 sigma
    )
    body = baseline_body(plant, end=T0 + 60 * DAY)
    assert (
        await client.post("/api/v1/baselines", json=body, headers=plant.admin)
    ).status_code == 201
    events: list[dict] = []

    async def collect(topic: str, payload: dict) -> None:
        events.append(payload)

    app.state.bus.subscribe("anomaly.detected", collect)
    url = f"/api/v1/assets/{plant.machine_id}/anomalies/scan"
    params = {"start": T0 + 60 * DAY, "end": T0 + 75 * DAY}
    response = await client.post(url, params=params, headers=plant.admin)
    assert response.status_code == 200, response.text
    scan = response.json()
    assert set(scan["skipped"]) == {"isolation_forest", "level_shift", "trend"}  # no such metrics
    spike = [a for a in scan["stored"] if a["ts"] == iso(T0 + 66 * DAY)]
    assert len(spike) == 1 and spike[0]["severity"] == "critical", scan["stored"]
    assert spike[0]["method"] == "zscore" and spike[0]["metric"] == "energy_kwh"
    assert spike[0]["detail"]["z"] > 10
    others = [a for a in scan["stored"] if a is not spike[0]]
    assert all(a["severity"] == "warning" for a in others)  # noise: at most 2-3 sigma
    assert len(events) == len(scan["stored"])
    event = next(e for e in events if e["ts"] == T0 + 66 * DAY)
    assert event["asset_id"] == plant.machine_id and event["site_id"] == plant.site_id
    assert event["method"] == "zscore" and event["severity"] == "critical"
    again = (await client.post(url, params=params, headers=plant.admin)).json()
    assert again["found"] == scan["found"] and again["stored"] == []  # stored once
    assert len(events) == len(scan["stored"])


async def make_compressor(
    app, client, sessions, admin: dict[str, str]
) -> tuple[int, int, list[int]]:
    """10 days of 15-min power/flow/pressure with a leak (-0.05 bar/day) and power faults."""
    site = await client.post(
        "/api/v1/sites", json={"name": "Air", "timezone": "UTC"}, headers=admin
    )
    asset = await client.post(
        "/api/v1/assets",
        json={"site_id": site.json()["id"], "name": "Compressor 1", "kind": "compressor"},
        headers=admin,
    )
    assert asset.status_code == 201, asset.text
    asset_id = asset.json()["id"]
    n = 10 * 96
    rng = np.random.default_rng(8)
    load = 0.5 + 0.4 * np.sin(np.arange(n) / 96 * 2 * np.pi)
    power = 20 + 50 * load + rng.normal(0, 1.5, n)
    flow = 100 + 400 * load + rng.normal(0, 10, n)
    pressure = 7.2 - 0.3 * load + rng.normal(0, 0.03, n) - 0.05 * np.arange(n) / 96
    faults = [100, 333, 517, 702, 880]
    power[faults] += 30  # power without the matching air flow
    ids = [await metric_id(sessions, key) for key in ("power_kw", "flow_m3h", "pressure_bar")]
    rows = [
        (asset_id, metric, T0 + i * QUARTER, float(values[i]))
        for metric, values in zip(ids, (power, flow, pressure), strict=True)
        for i in range(n)
    ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return site.json()["id"], asset_id, faults


async def test_compressor_scan_finds_the_leak_and_the_faults(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id, asset_id, faults = await make_compressor(app, client, sessions, admin)
    response = await client.post(
        f"/api/v1/assets/{asset_id}/anomalies/scan",
        params={"start": T0, "end": T0 + 10 * DAY, "step_s": 900},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    scan = response.json()
    assert scan["skipped"] == {"zscore": "the asset has no baseline"}
    trend = [a for a in scan["stored"] if a["method"] == "trend"]
    assert len(trend) == 1 and trend[0]["metric"] == "pressure_bar"
    assert trend[0]["severity"] == "critical"
    assert -0.06 < trend[0]["detail"]["slope_per_day"] < -0.04
    forest = [a for a in scan["stored"] if a["method"] == "isolation_forest"]
    fault_times = {T0 + i * QUARTER for i in faults}
    found_times = {a["ts"] for a in forest}
    hits = {iso(t) for t in fault_times} & found_times
    assert len(hits) >= 4, forest
    assert len(forest) <= len(fault_times) + 10

    viewer = await auth_headers(Role.VIEWER, sites=[site_id])
    listed = await client.get(
        "/api/v1/anomalies", params={"asset": asset_id, "method": "trend"}, headers=viewer
    )
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()] == [trend[0]["id"]]
    since = await client.get(
        "/api/v1/anomalies", params={"site": site_id, "since": T0 + 10 * DAY}, headers=viewer
    )
    assert since.json() == []
    other = await client.post(
        "/api/v1/sites", json={"name": "Else", "timezone": "UTC"}, headers=admin
    )
    outsider = await auth_headers(Role.VIEWER, sites=[other.json()["id"]])
    assert (await client.get("/api/v1/anomalies", headers=outsider)).json() == []
    hidden = await client.post(f"/api/v1/assets/{asset_id}/anomalies/scan", headers=outsider)
    assert hidden.status_code == 403  # viewers may not scan
    operator = await auth_headers(Role.OPERATOR, sites=[other.json()["id"]])
    hidden = await client.post(f"/api/v1/assets/{asset_id}/anomalies/scan", headers=operator)
    assert hidden.status_code == 404


async def test_bad_scan_and_list_requests(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    cases = [
        ("/api/v1/anomalies", {"since": "yesterday"}),
        ("/api/v1/anomalies", {"since": T0 + DAY, "until": T0}),
        ("/api/v1/anomalies", {"severity": "info"}),
        ("/api/v1/anomalies", {"since": "99999999999999999"}),
    ]
    for url, params in cases:
        response = await client.get(url, params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
    missing = await client.post("/api/v1/assets/987654/anomalies/scan", headers=admin)
    assert missing.status_code == 404
    bad = await client.post(
        "/api/v1/assets/1/anomalies/scan", params={"methods": "magic"}, headers=admin
    )
    assert bad.status_code == 422


async def test_scheduled_scan_stores_and_publishes_new_findings(
    app, client, sessions, auth_headers
):
    from gridpilot.insights.anomalies.tasks import scan_all

    admin = await auth_headers(Role.ADMINISTRATOR)
    _, asset_id, _ = await make_compressor(app, client, sessions, admin)
    events: list[dict] = []

    async def collect(topic: str, payload: dict) -> None:
        events.append(payload)

    app.state.bus.subscribe("anomaly.detected", collect)
    stored = await scan_all(sessions, app.state.bus, end_ms=T0 + 10 * DAY)
    assert stored == len(events) > 0
    assert {e["asset_id"] for e in events} == {asset_id}
    assert "trend" in {e["method"] for e in events}
    assert await scan_all(sessions, app.state.bus, end_ms=T0 + 10 * DAY) == 0  # nothing new
    listed = await client.get("/api/v1/anomalies", params={"asset": asset_id}, headers=admin)
    assert len(listed.json()) == stored


async def test_partial_first_and_current_hours_are_not_scored(app, client, sessions, auth_headers):
    """Readings every 15 min from 45 min into an hour to the start of the current hour: the
    first hour and the current one (one reading each) read 0 kW, like the fault in a complete
    hour; only the complete hour is flagged. (The current hour holds one reading whatever the
    clock: late in the hour its four readings would make it complete enough to score, which
    the unit tests of ``anomaly_coverage`` cover with a fixed clock.)"""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await client.post(
        "/api/v1/sites", json={"name": "Now", "timezone": "UTC"}, headers=admin
    )
    asset = await client.post(
        "/api/v1/assets",
        json={"site_id": site.json()["id"], "name": "Pump", "kind": "pump"},
        headers=admin,
    )
    asset_id = asset.json()["id"]
    hour = 3_600_000
    current = now_ms() // hour * hour
    first = current - 4 * DAY
    stamps = np.arange(first + 3 * QUARTER, current + 1, QUARTER)
    rng = np.random.default_rng(4)
    cycle = np.sin(stamps / DAY * 2 * np.pi)
    power = 100 + 20 * cycle + rng.normal(0, 1, len(stamps))
    flow = 500 + 100 * cycle + rng.normal(0, 5, len(stamps))
    fault = current - 2 * DAY  # a complete hour
    power[(stamps < first + hour) | (stamps >= current) | (stamps == fault)] = 0.0
    ids = [await metric_id(sessions, key) for key in ("power_kw", "flow_m3h")]
    rows = [
        (asset_id, metric, int(ts), float(value))
        for metric, values in zip(ids, (power, flow), strict=True)
        for ts, value in zip(stamps, values, strict=True)
    ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    response = await client.post(
        f"/api/v1/assets/{asset_id}/anomalies/scan",
        params={"start": first, "end": current + hour, "methods": ["level_shift"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    flagged = {a["ts"] for a in response.json()["stored"] if a["metric"] == "power_kw"}
    assert iso(fault) in flagged, flagged
    assert iso(first) not in flagged and iso(current) not in flagged, flagged


async def test_zscore_scan_leaves_a_partial_last_day_alone(app, client, sessions, auth_headers):
    """The day after the plant's data holds 4 of its 24 hourly readings (energy and production
    a sixth of a day's): its daily z would be far below -3; it is not scored."""
    plant = await make_plant(app, client, sessions, auth_headers, days=75)
    body = baseline_body(plant, end=T0 + 60 * DAY)
    assert (
        await client.post("/api/v1/baselines", json=body, headers=plant.admin)
    ).status_code == 201
    keys = ("energy_kwh", "production_count", "temperature_c")
    e_id, p_id, t_id = [await metric_id(sessions, key) for key in keys]
    last = T0 + 74 * DAY + 23 * HOUR_MS + HOUR_MS // 2
    async with sessions() as session:
        values = {
            m: float(
                await session.scalar(
                    text("SELECT value FROM readings WHERE metric_id = :m AND ts = :t"),
                    {"m": m, "t": last},
                )
            )
            for m in (e_id, p_id, t_id)
        }
    rows = []
    for h in range(4):
        ts = T0 + 75 * DAY + h * HOUR_MS + HOUR_MS // 2
        rows += [
            (plant.machine_id, e_id, ts, values[e_id] + 20.0 * (h + 1)),
            (plant.machine_id, p_id, ts, values[p_id] + 5.0 * (h + 1)),
            (plant.weather_id, t_id, ts, values[t_id]),
        ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    response = await client.post(
        f"/api/v1/assets/{plant.machine_id}/anomalies/scan",
        params={"start": T0 + 60 * DAY, "end": T0 + 76 * DAY, "methods": ["zscore"]},
        headers=plant.admin,
    )
    assert response.status_code == 200, response.text
    stamps = {a["ts"] for a in response.json()["stored"]}
    assert iso(T0 + 75 * DAY) not in stamps, response.json()["stored"]
