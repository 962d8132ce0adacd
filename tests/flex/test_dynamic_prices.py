"""A site's dynamic (market) prices, PUT/GET/DELETE /api/v1/sites/{id}/prices, and the planner
using them: where they hold a step's start they replace the tariff's price; with prices over
every step a site plans without a tariff. Both back ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.flex.schedule_data import QUARTER_MS, add_battery, plan_site, store_forecasts
from tests.insights.kpis.kpi_test_data import make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms


def url(site_id: int) -> str:
    return f"/api/v1/sites/{site_id}/prices"


def quarter_now() -> datetime:
    now = now_ms()
    return datetime.fromtimestamp((now - now % QUARTER_MS) / 1000, UTC)


def hourly(start: datetime, values: list[float], export: float | None = None) -> list[dict]:
    return [
        {"start": (start + timedelta(hours=i)).isoformat(), "duration_min": 60,
         "import_eur_per_kwh": v, "export_eur_per_kwh": export}
        for i, v in enumerate(values)
    ]  # fmt: skip


async def test_prices_are_stored_replaced_read_and_deleted(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Market site")
    start = quarter_now()
    put = await client.put(url(site_id), json={"prices": hourly(start, [0.2, -0.05, 0.3])},
                           headers=admin)  # fmt: skip
    assert put.status_code == 200, put.text
    body = put.json()
    assert [p["import_eur_per_kwh"] for p in body["prices"]] == [0.2, -0.05, 0.3]
    assert body["prices"][0]["end"] == body["prices"][1]["start"]

    # new prices over the second hour only replace what overlaps that span
    later = start + timedelta(hours=1)
    quarters = [{"start": (later + timedelta(minutes=15 * i)).isoformat(), "duration_min": 15,
                 "import_eur_per_kwh": 0.1 * i} for i in range(4)]  # fmt: skip
    assert (
        await client.put(url(site_id), json={"prices": quarters}, headers=admin)
    ).status_code == 200
    viewer = await auth_headers(Role.VIEWER, [site_id])
    read = await client.get(url(site_id), headers=viewer)
    assert read.status_code == 200
    got = [p["import_eur_per_kwh"] for p in read.json()["prices"]]
    assert got == pytest.approx([0.2, 0.0, 0.1, 0.2, 0.3, 0.3])

    gone = await client.delete(url(site_id), params={"start": later.isoformat()}, headers=admin)
    assert gone.status_code == 200 and gone.json() == {"deleted": 5}
    left = (await client.get(url(site_id), headers=viewer)).json()["prices"]
    assert [p["import_eur_per_kwh"] for p in left] == [0.2]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"prices": []}, "at least 1"),
        (
            {
                "currency": "USD",
                "prices": [{"start": "2026-12-06T00:00:00Z", "import_eur_per_kwh": 0.1}],
            },
            "EUR",
        ),
        ({"prices": [{"start": "2026-12-06T00:00:00", "import_eur_per_kwh": 0.1}]}, "timezone"),
        (  # a boolean is no price, a string no number (no coercion)
            {
                "prices": [
                    {
                        "start": "2026-12-06T00:00:00Z",
                        "import_eur_per_kwh": 0.1,
                        "export_eur_per_kwh": False,
                    }
                ]
            },
            "export_eur_per_kwh",
        ),
        ({"prices": [{"start": "2026-12-06T00:00:00Z", "import_eur_per_kwh": "0.1"}]}, "number"),
        ({"prices": [{"start": 0, "import_eur_per_kwh": 0.1}]}, "ISO-8601"),  # not 1970
        (
            {
                "prices": [
                    {"start": "2026-12-06T00:00:00Z", "duration_min": 2, "import_eur_per_kwh": 0.1}
                ]
            },
            "greater than or equal to 5",
        ),
        (
            {
                "prices": [
                    {"start": "2026-12-06T00:00:00Z", "import_eur_per_kwh": 0.1},
                    {"start": "2026-12-06T00:30:00Z", "import_eur_per_kwh": 0.2},
                ]
            },
            "prices overlap",
        ),
    ],
)
async def test_bad_prices_answer_422_in_words_and_store_nothing(client, auth_headers, body, words):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Strict market")
    response = await client.put(url(site_id), json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert words in response.text
    window = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"}
    assert (await client.get(url(site_id), params=window, headers=admin)).json()["prices"] == []


async def test_scope_and_roles(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Guarded")
    other = await make_site(client, admin, "Other")
    body = {"prices": hourly(quarter_now(), [0.2])}
    viewer = await auth_headers(Role.VIEWER, [site_id])
    assert (await client.put(url(site_id), json=body, headers=viewer)).status_code == 403
    assert (await client.get(url(other), headers=viewer)).status_code == 404
    operator = await auth_headers(Role.OPERATOR, [site_id])
    assert (await client.put(url(other), json=body, headers=operator)).status_code == 404
    assert (await client.put(url(site_id), json=body, headers=operator)).status_code == 200


async def test_the_battery_follows_a_price_spike_the_tariff_does_not_know(
    client, sessions, auth_headers
):
    """The site's tariff (0.40 from 08:00 to 20:00 UTC, 0.10 otherwise) is replaced in every
    step by market prices: 0.10, but 0.80 EUR/kWh for two hours from four hours ahead. The
    battery discharges in the spike, whatever the tariff's peak says."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Spiky")  # 0.10 / 0.40 ToU, 30 kW
    await add_battery(client, admin, site_id)
    start = quarter_now()
    hour = start - timedelta(minutes=start.minute)
    values = [0.10] * 4 + [0.80] * 2 + [0.10] * 20  # every step of the 24 h plan covered
    assert (await client.put(url(site_id), json={"prices": hourly(hour, values)},
                             headers=admin)).status_code == 200  # fmt: skip
    plan = (await client.post(f"/api/v1/sites/{site_id}/schedule", json={"horizon_h": 24},
                              headers=admin)).json()  # fmt: skip
    assert plan["status"] == "optimal", plan
    assert plan["inputs"]["dynamic_price_steps"] == 96
    steps = plan["steps"]
    spike = [s for s in steps if s["price_eur_per_kwh"] == pytest.approx(0.80)]
    assert len(spike) >= 4  # the spike's quarters within the horizon
    assert {s["price_eur_per_kwh"] for s in steps} == {0.10, 0.80}  # never the tariff's 0.40
    discharged = sum(s["batteries"]["BESS"]["discharge_kw"] for s in spike)
    elsewhere = sum(s["batteries"]["BESS"]["discharge_kw"] for s in steps if s not in spike)
    assert discharged > 0 and discharged > elsewhere


async def test_dynamic_prices_over_every_step_plan_a_site_without_tariff(
    client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "No tariff", timezone="UTC")
    await store_forecasts(sessions, site_id, 20.0)
    await add_battery(client, admin, site_id)
    hour = quarter_now().replace(minute=0)
    schedule = f"/api/v1/sites/{site_id}/schedule"
    short = await client.put(url(site_id), json={"prices": hourly(hour, [0.2] * 10)}, headers=admin)
    assert short.status_code == 200
    missing = await client.post(schedule, json={"horizon_h": 24}, headers=admin)
    assert missing.status_code == 409  # 10 h of prices cannot price a 24 h plan
    assert f"/api/v1/sites/{site_id}/prices" in missing.json()["message"]

    full = hourly(hour, [0.2] * 12 + [0.05] * 13, export=0.04)
    assert (await client.put(url(site_id), json={"prices": full}, headers=admin)).status_code == 200
    plan = await client.post(schedule, json={"horizon_h": 24}, headers=admin)
    assert plan.status_code == 200, plan.text
    steps = plan.json()["steps"]
    assert {s["price_eur_per_kwh"] for s in steps} == {0.2, 0.05}
