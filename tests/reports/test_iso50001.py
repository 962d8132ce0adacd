"""The ISO 50001 energy performance report against the baseline API (both back ends), and the
savings' uncertainty against a hand-computed ASHRAE Guideline 14 example."""

from __future__ import annotations

import math

import pytest
from tests.insights.baselines.plant_data import baseline_body, make_plant
from tests.reports.test_site_energy import figures
from tests.telemetry.query_test_data import DAY, T0

from gridpilot.analytics.savings_uncertainty import savings_uncertainty
from gridpilot.reports.document import fmt


def test_savings_uncertainty_of_a_worked_example():
    # 36 monthly baseline points, 2 parameters, CV(RMSE) 10 %, 12 reporting months, 120 MWh
    # predicted: U = t(0.95, 34) x 1.26 x 0.10 x 120,000 x sqrt((1 + 2/36) / 12)
    #              = 1.690924 x 1.26 x 0.10 x 120,000 x 0.296586 = 7,582.7 kWh
    found = savings_uncertainty(
        savings_kwh=12_000.0,
        predicted_kwh=120_000.0,
        cv_rmse_pct=10.0,
        n_baseline=36,
        n_params=2,
        m_reporting=12,
        confidence=0.90,
    )
    assert found is not None
    assert found.t_value == pytest.approx(1.690924, abs=1e-6)
    assert found.uncertainty_kwh == pytest.approx(7582.73, abs=0.01)
    assert found.fraction == pytest.approx(7582.73 / 12_000, abs=1e-5)
    # autocorrelated residuals (rho 0.5): n' = 36 x 0.5 / 1.5 = 12, so sqrt(n / n') = sqrt(3)
    correlated = savings_uncertainty(
        savings_kwh=12_000.0,
        predicted_kwh=120_000.0,
        cv_rmse_pct=10.0,
        n_baseline=36,
        n_params=2,
        m_reporting=12,
        rho=0.5,
    )
    assert correlated is not None
    assert correlated.uncertainty_kwh == pytest.approx(7582.73 * math.sqrt(3), abs=0.02)
    assert (
        savings_uncertainty(
            savings_kwh=1.0,
            predicted_kwh=1.0,
            cv_rmse_pct=1.0,
            n_baseline=2,
            n_params=2,
            m_reporting=1,
        )
        is None
    )


async def test_report_matches_the_baseline_api(app, client, sessions, auth_headers):
    plant = await make_plant(
        app, client, sessions, auth_headers, name="Saver", days=75, energy_factor_after=(60, 0.9)
    )
    created = await client.post(
        "/api/v1/baselines", json=baseline_body(plant, end=T0 + 60 * DAY), headers=plant.admin
    )
    assert created.status_code == 201, created.text
    baseline = created.json()
    body = {
        "site_id": plant.site_id,
        "name": "EnPI",
        "kind": "iso50001",
        "params": {"baseline_id": baseline["id"]},
    }
    report = await client.post("/api/v1/reports", json=body, headers=plant.admin)
    assert report.status_code == 201, report.text
    period = {"start": T0 + 60 * DAY, "end": T0 + 75 * DAY}
    done = await client.post(
        f"/api/v1/reports/{report.json()['id']}/run", json=period, headers=plant.admin
    )
    assert done.status_code == 201 and done.json()["status"] == "done", done.text
    [url] = [f["url"] for f in done.json()["files"] if f["format"] == "csv"]
    csv_file = await client.get(url, headers=plant.admin)
    table = figures(csv_file.content)
    api = (
        await client.get(
            f"/api/v1/baselines/{baseline['id']}/report", params=period, headers=plant.admin
        )
    ).json()
    assert table["actual_kwh"][0] == fmt(api["actual_kwh"], 1)
    assert table["predicted_kwh"][0] == fmt(api["predicted_kwh"], 1)
    assert table["savings_kwh"][0] == fmt(api["savings_kwh"], 1)
    assert table["enpi"][0] == fmt(api["enpi"], 3)
    assert 0.87 < float(table["enpi"][0]) < 0.93  # energy cut by 10 %
    fit = baseline["current"]
    expected = savings_uncertainty(
        savings_kwh=api["savings_kwh"],
        predicted_kwh=api["predicted_kwh"],
        cv_rmse_pct=fit["cv_rmse_pct"],
        n_baseline=fit["n"],
        n_params=len(fit["coefficients"]),
        m_reporting=api["n"],
    )
    assert expected is not None
    assert table["savings_uncertainty_kwh"][0] == fmt(expected.uncertainty_kwh, 1)
    lines = csv_file.content.decode("utf-8-sig").splitlines()
    periods = lines[lines.index("# table,periods,Per period") + 2 :]
    assert len([p for p in periods if p.startswith("20")]) == 15
    cusum = [float(p.split(",")[4]) for p in periods if p.startswith("20")]
    assert cusum[-1] < cusum[0] < 0  # falling CUSUM: savings accumulate


async def test_a_baseline_of_another_site_is_refused(app, client, sessions, auth_headers):
    plant = await make_plant(app, client, sessions, auth_headers, name="A", days=40)
    created = await client.post(
        "/api/v1/baselines", json=baseline_body(plant, end=T0 + 35 * DAY), headers=plant.admin
    )
    other = await client.post(
        "/api/v1/sites", json={"name": "B", "timezone": "UTC"}, headers=plant.admin
    )
    body = {
        "site_id": other.json()["id"],
        "name": "EnPI",
        "kind": "iso50001",
        "params": {"baseline_id": created.json()["id"]},
    }
    refused = await client.post("/api/v1/reports", json=body, headers=plant.admin)
    assert refused.status_code == 422
    assert refused.json()["error"] == "baseline_not_on_site"
