"""A site in Europe/Rome with three consumers metered by power every 15 min over 2026-03-28 ..
2026-03-31 local (the spring clock change on the 29th), a two-band tariff and one alert.

Consumer k (k = 1, 2, 3) draws 10 k kW from 08:00 to 18:00 local time and 2 k kW otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.alerts.models import Alert
from gridpilot.auth.permissions import Role
from gridpilot.telemetry.rollups import refresh_pending

ROME = ZoneInfo("Europe/Rome")
QUARTER = 900_000
#: 2026-03-28T00:00 local (+01:00) .. 2026-03-31T00:00 local (+02:00): 71 hours.
START = int(datetime(2026, 3, 28, tzinfo=ROME).timestamp() * 1000)
END = int(datetime(2026, 3, 31, tzinfo=ROME).timestamp() * 1000)
TARIFF = {
    "currency": "EUR",
    "periods": [{"name": "night", "rate_per_kwh": 0.11, "start": "00:00", "end": "08:00"}],
    "default_rate_per_kwh": 0.23,
    "fixed_charge_per_day": 1.5,
}


@dataclass
class Plant:
    site_id: int
    consumers: list[int]
    admin: dict[str, str]


def power_kw(k: int, ts_ms: int) -> float:
    hour = datetime.fromtimestamp(ts_ms / 1000, tz=ROME).hour
    return 10.0 * k if 8 <= hour < 18 else 2.0 * k


async def make_plant(app, client, sessions, auth_headers, name: str = "Roma Società") -> Plant:
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await client.post(
        "/api/v1/sites",
        json={"name": name, "timezone": "Europe/Rome", "contract_demand_kw": 80},
        headers=admin,
    )
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    tariff = await client.post(
        f"/api/v1/sites/{site_id}/tariffs",
        json={"valid_from": START - 86_400_000, "definition": TARIFF, "backdate": True},
        headers=admin,
    )
    assert tariff.status_code == 201, tariff.text
    consumers = []
    for k in (1, 2, 3):
        body = {"site_id": site_id, "name": f"Line {k}", "kind": "machine", "role": "consumer"}
        made = await client.post("/api/v1/assets", json=body, headers=admin)
        assert made.status_code == 201, made.text
        consumers.append(made.json()["id"])
    power = await metric_id(sessions, "power_kw")
    rows = [
        (asset, power, ts, power_kw(k, ts))
        for k, asset in enumerate(consumers, start=1)
        for ts in range(START - QUARTER, END + QUARTER, QUARTER)
    ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    async with sessions() as session, session.begin():
        session.add(
            Alert(
                rule_id=None,
                subject="site",
                site_id=site_id,
                asset_id=consumers[2],
                kind="threshold",
                metric="power_kw",
                severity="warning",
                state="resolved",
                title="Line 3 power high",
                message="over 25 kW",
                value=30.0,
                detail={},
                raised_at=datetime(2026, 3, 29, 10, 0, tzinfo=UTC),
            )
        )
    return Plant(site_id, consumers, admin)


async def define(client, headers, site_id: int, **fields) -> dict:
    body = {"site_id": site_id, "name": "Energy", "kind": "site_energy", **fields}
    response = await client.post("/api/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def run(client, headers, report_id: int, **body) -> dict:
    response = await client.post(f"/api/v1/reports/{report_id}/run", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
