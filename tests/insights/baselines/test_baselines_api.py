"""/api/v1/baselines on both back ends: fit from stored telemetry, versions, report, scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from tests.insights.baselines.plant_data import (
    INTERCEPT,
    PER_HDD,
    PER_UNIT,
    baseline_body,
    make_plant,
)
from tests.telemetry.query_test_data import DAY, T0

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso
from gridpilot.insights.baselines.tasks import refit_due


@pytest.fixture
async def plant(app, client, sessions, auth_headers):
    return await make_plant(app, client, sessions, auth_headers, days=60)


async def test_create_recovers_the_plant_physics(client, plant):
    response = await client.post(
        "/api/v1/baselines", json=baseline_body(plant), headers=plant.admin
    )
    assert response.status_code == 201, response.text
    body = response.json()
    current = body["current"]
    assert body["latest_version"] == 1 and current["version"] == 1
    assert current["n"] == 60 and current["dropped"] == 0
    truth = {"intercept": INTERCEPT, "production_count": PER_UNIT, "hdd": PER_HDD}
    for c in current["coefficients"]:
        assert abs(c["estimate"] - truth[c["name"]]) < 4 * c["std_error"], c
    assert current["r2"] > 0.95
    verdicts = {v["check"]: v["passed"] for v in current["verdicts"]}
    assert verdicts["observations"] is None  # 60 daily buckets cannot reach 1000
    assert verdicts["p_value:hdd"] and verdicts["cv_rmse"] and verdicts["nmbe"]
    assert current["valid"] is True
    assert body["drivers"][1]["balance_point_c"] == 15.5


async def test_random_driver_baseline_is_stored_but_invalid(client, plant):
    body = baseline_body(plant, drivers=[{"kind": "temperature", "asset_id": plant.weather_id}])
    body["drivers"][0]["metric"] = "temperature_c"
    response = await client.post("/api/v1/baselines", json=body, headers=plant.admin)
    assert response.status_code == 201, response.text
    assert response.json()["current"]["valid"] is False  # temperature alone explains too little


async def test_refit_adds_versions_and_report_shows_savings(app, client, sessions, auth_headers):
    plant = await make_plant(
        app, client, sessions, auth_headers, name="Saver", days=75, energy_factor_after=(60, 0.9)
    )
    body = baseline_body(plant, end=T0 + 60 * DAY)
    created = (await client.post("/api/v1/baselines", json=body, headers=plant.admin)).json()
    baseline_id = created["id"]
    refit = await client.post(
        f"/api/v1/baselines/{baseline_id}/refit",
        json={"start": T0 + DAY, "end": T0 + 60 * DAY},
        headers=plant.admin,
    )
    assert refit.status_code == 200, refit.text
    assert refit.json()["current"]["version"] == 2
    got = (await client.get(f"/api/v1/baselines/{baseline_id}", headers=plant.admin)).json()
    assert [v["version"] for v in got["versions"]] == [2, 1]
    assert got["versions"][0]["n"] == 59

    viewer = await auth_headers(Role.VIEWER)
    report = await client.get(
        f"/api/v1/baselines/{baseline_id}/report",
        params={"start": T0 + 60 * DAY, "end": T0 + 75 * DAY, "version": 1},
        headers=viewer,
    )
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["version"] == 1 and data["n"] == 15 and len(data["rows"]) == 15
    assert 7.0 < data["savings_pct"] < 13.0  # energy cut by 10 %
    assert 0.87 < data["enpi"] < 0.93
    cusum = [r["cusum"] for r in data["rows"]]
    assert cusum[-1] < cusum[0] < 0  # falling CUSUM: savings accumulate
    assert data["rows"][0]["deviation"] == pytest.approx(
        data["rows"][0]["actual"] - data["rows"][0]["predicted"]
    )
    assert data["sec_kwh_per_unit"] > 0
    # ASHRAE G14 uncertainty of the savings at 68 % and 90 %, the 90 % interval the wider
    found = {u["confidence"]: u for u in data["savings_uncertainty"]}
    assert sorted(found) == [0.68, 0.9]
    assert 0 < found[0.68]["uncertainty_kwh"] < found[0.9]["uncertainty_kwh"]
    assert found[0.68]["fraction"] == pytest.approx(
        found[0.68]["uncertainty_kwh"] / data["savings_kwh"]
    )
    assert found[0.9]["savings_low_kwh"] < data["savings_kwh"] < found[0.9]["savings_high_kwh"]


async def test_weekly_refit_task_refits_due_baselines(app, client, sessions, plant):
    body = baseline_body(plant, end=T0 + 50 * DAY)
    created = (await client.post("/api/v1/baselines", json=body, headers=plant.admin)).json()
    assert await refit_due(sessions, now=T0 + 60 * DAY) == 0  # fitted just now: not due
    async with sessions() as session, session.begin():
        await session.execute(
            text("UPDATE baseline_versions SET fitted_at = :old"),
            {"old": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    assert await refit_due(sessions, now=T0 + 60 * DAY + 3_600_000) == 1
    got = (await client.get(f"/api/v1/baselines/{created['id']}", headers=plant.admin)).json()
    assert got["latest_version"] == 2
    newest = got["versions"][0]
    assert newest["fitted_by"] == "system:baseline-refit"
    assert (newest["start"], newest["end"]) == (iso(T0 + 10 * DAY), iso(T0 + 60 * DAY))
    assert newest["n"] == 50
    # a refit without data is logged and retried later, never raised
    async with sessions() as session, session.begin():
        await session.execute(
            text("UPDATE baseline_versions SET fitted_at = :old"),
            {"old": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    assert await refit_due(sessions, now=T0 + 400 * DAY) == 0


async def test_scope_and_listing(client, auth_headers, plant):
    created = (
        await client.post("/api/v1/baselines", json=baseline_body(plant), headers=plant.admin)
    ).json()
    elsewhere = await client.post(
        "/api/v1/sites", json={"name": "Elsewhere", "timezone": "UTC"}, headers=plant.admin
    )
    outsider = await auth_headers(Role.VIEWER, sites=[elsewhere.json()["id"]])
    assert (
        await client.get(f"/api/v1/baselines/{created['id']}", headers=outsider)
    ).status_code == 404
    assert (await client.get("/api/v1/baselines", headers=outsider)).json() == []
    insider = await auth_headers(Role.VIEWER, sites=[plant.site_id])
    listed = (
        await client.get(
            "/api/v1/baselines", params={"asset_id": plant.machine_id}, headers=insider
        )
    ).json()
    assert [b["id"] for b in listed] == [created["id"]]
    assert listed[0]["current"]["version"] == 1
    operator = await auth_headers(Role.OPERATOR, sites=[elsewhere.json()["id"]])
    response = await client.post("/api/v1/baselines", json=baseline_body(plant), headers=operator)
    assert response.status_code == 404
    deleted = await client.delete(f"/api/v1/baselines/{created['id']}", headers=plant.admin)
    assert deleted.status_code == 204
    assert (
        await client.get(f"/api/v1/baselines/{created['id']}", headers=plant.admin)
    ).status_code == 404


async def test_bad_requests_are_clear_4xx(client, auth_headers, plant):
    other = await client.post(
        "/api/v1/sites", json={"name": "Other", "timezone": "UTC"}, headers=plant.admin
    )
    cases = [
        (baseline_body(plant, drivers=[{"metric": "no_such_metric"}]), 422, "unknown metric"),
        (baseline_body(plant, start=T0 + 400 * DAY, end=T0 + 430 * DAY), 422, "observations"),
        (
            baseline_body(plant, asset_id=None, site_id=plant.site_id, drivers=[{"kind": "hdd"}]),
            422,
            "needs an asset_id",
        ),
        (baseline_body(plant, site_id=other.json()["id"]), 422, "exactly one"),
        (baseline_body(plant, granularity="fortnight"), 422, None),
        (baseline_body(plant, drivers=[{"kind": "metric"}]), 422, "needs 'metric'"),
        (baseline_body(plant, end=T0 + 3000 * DAY, granularity="hour"), 413, None),
    ]
    for body, status, expected in cases:
        response = await client.post("/api/v1/baselines", json=body, headers=plant.admin)
        assert response.status_code == status, (body, response.text)
        if expected:
            assert expected in response.text, response.text
    missing = await client.get("/api/v1/baselines/987654/report", headers=plant.admin)
    assert missing.status_code == 404


async def test_weekly_site_baseline_sums_whole_weeks(client, sessions, plant):
    body = baseline_body(
        plant,
        asset_id=None,
        site_id=plant.site_id,
        granularity="week",
        drivers=[
            {"metric": "production_count", "asset_id": plant.machine_id},
            {"kind": "hdd", "asset_id": plant.weather_id},
        ],
    )
    response = await client.post("/api/v1/baselines", json=body, headers=plant.admin)
    assert response.status_code == 201, response.text
    current = response.json()["current"]
    assert current["n"] == 8  # 60 days from a Monday: 8 whole ISO weeks, 4 days left out
    coefficients = {c["name"]: c for c in current["coefficients"]}
    # a week is 7 days: intercept 7 x 200 kWh; per unit and per degree-day unchanged
    assert abs(coefficients["production_count"]["estimate"] - 1.5) < 0.2
    assert abs(coefficients["hdd"]["estimate"] - 10.0) < 1.5
    assert abs(coefficients["intercept"]["estimate"] - 1400.0) < 150.0
    checks = {v["check"]: v for v in current["verdicts"]}
    assert checks["cv_rmse"]["threshold"] == "<= 30.0 %"
