"""The industrial seed's data model end to end, on both back ends: the simulated factory's
molding machine sends throughput, operating mode, recipe, material moisture and operating hours;
GET/POST /assets/{id}/production serve and take them, its status carries operating hours and
alert level, and a baseline takes material moisture as a driver."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridpilot.alerts.models import Alert
from gridpilot.assets.catalogue import OPERATING_MODES
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, iso, now_ms
from gridpilot.db.engine import transaction
from gridpilot.sim.backfill import backfill
from gridpilot.sim.factory import MATERIALS
from gridpilot.sim.provision import provision

DAYS = 8


@pytest.fixture
async def molding(app):
    """The factory's first molding machine (PP) backfilled for ``DAYS`` days up to a UTC
    midnight (whatever the time of day the test runs at)."""
    assets = await provision(sessions=app.state.sessions, bus=app.state.bus, scenarios=["factory"])
    machine = next(a for a in assets if a.spec.device_id == "factory-imm-1")
    end = now_ms() // MS_PER_DAY * MS_PER_DAY
    report = await backfill(
        [machine], runtime=app.state.telemetry, seed=5, span_ms=DAYS * MS_PER_DAY,
        step_ms=900_000, end_ms=end,
    )  # fmt: skip
    assert report.rejected == 0, report.reasons
    return machine, end


async def test_production_data_is_served_per_interval(client, auth_headers, molding):
    machine, end = molding
    headers = await auth_headers()
    answer = await client.get(
        f"/api/v1/assets/{machine.asset_id}/production",
        params={"start": iso(end - MS_PER_DAY), "end": iso(end), "resolution": "1h"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["recipes"] == list(MATERIALS) and body["operating_modes"] == list(OPERATING_MODES)
    rows = body["intervals"]
    assert len(rows) == 24
    assert {r["recipe_id"] for r in rows} == {"PP"}
    assert {r["operating_mode"] for r in rows} <= {"idle", "production"}
    assert any(r["operating_mode"] == "production" for r in rows)
    busy = [r for r in rows if r["production_count"]]
    # PP: 4 cavities per 60 s cycle = 240 parts/h at most; units and mean throughput agree
    assert all(0 < row["throughput_units_per_hour"] <= 240 for row in busy)
    units = sum(r["production_count"] for r in busy)
    assert units == pytest.approx(sum(r["throughput_units_per_hour"] for r in busy), rel=0.05)
    assert all(0.02 <= r["material_moisture_pct"] <= 0.6 for r in rows)


async def test_production_records_are_taken_by_name(client, auth_headers, molding):
    machine, end = molding
    headers = await auth_headers()
    url = f"/api/v1/assets/{machine.asset_id}/production"
    ts = end + 7_000  # after the backfilled data (which ends at midnight, before now)
    record = {"ts": ts, "operating_mode": "setup", "recipe_id": "PA66", "material_moisture_pct": 1}
    stored = await client.post(url, json={"records": [record]}, headers=headers)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"stored": 3, "rejected": []}
    params = {"start": iso(ts), "end": iso(ts + 60_000), "resolution": "1m"}
    row = (await client.get(url, params=params, headers=headers)).json()["intervals"][0]
    assert (row["operating_mode"], row["recipe_id"], row["material_moisture_pct"]) == (
        "setup", "PA66", 1.0,
    )  # fmt: skip
    unknown = await client.post(
        url, json={"records": [{"ts": ts, "recipe_id": "PEEK"}]}, headers=headers
    )
    assert unknown.status_code == 422
    assert "PEEK" in unknown.text and "PA66" in unknown.text
    mode = await client.post(
        url, json={"records": [{"ts": ts, "operating_mode": "dancing"}]}, headers=headers
    )
    assert mode.status_code == 422 and "maintenance" in mode.text


async def test_status_has_operating_hours_and_alert_level(app, client, auth_headers, molding):
    machine, end = molding
    headers = await auth_headers()
    url = f"/api/v1/assets/{machine.asset_id}/status"
    body = (await client.get(url, headers=headers)).json()
    # on all the time (never stopped): as many hours as were simulated, to the last sample
    assert body["operating_hours_total"] == pytest.approx(DAYS * 24, abs=0.3)
    assert body["operating_hours_ms"] == end - 30_000
    assert body["alert_level"] == "normal"
    raised = datetime.fromtimestamp(end / 1000, UTC)
    async with transaction(app.state.sessions) as session:
        for severity, subject in (("info", "a"), ("warning", "b")):
            session.add(
                Alert(
                    subject=subject, site_id=machine.site_id, asset_id=machine.asset_id,
                    kind="threshold", severity=severity, state="active", title="t", message="m",
                    detail={}, raised_at=raised,
                )
            )  # fmt: skip
    assert (await client.get(url, headers=headers)).json()["alert_level"] == "warning"
    site = (await client.get(f"/api/v1/sites/{machine.site_id}/status", headers=headers)).json()
    mine = next(a for a in site["assets"] if a["asset_id"] == machine.asset_id)
    assert mine["alert_level"] == "warning" and mine["operating_hours_total"] > 0


async def test_material_moisture_is_a_baseline_driver(client, auth_headers, molding):
    machine, end = molding
    headers = await auth_headers()
    body = {
        "name": "Molding, hourly",
        "asset_id": machine.asset_id,
        "granularity": "hour",
        "drivers": [{"metric": "production_count"}, {"kind": "moisture"}],
        "start": end - DAYS * MS_PER_DAY + MS_PER_HOUR,
        "end": end,
        "auto_refit": False,
    }
    answer = await client.post("/api/v1/baselines", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    fitted = {c["name"]: c for c in answer.json()["current"]["coefficients"]}
    moisture = fitted["moisture"]
    # wetter material costs heating energy: positive and clearly apart from zero
    assert moisture["estimate"] > 4 * moisture["std_error"] > 0
