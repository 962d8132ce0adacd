"""``GET /api/v1/fleet/summary`` against hand-computed figures on both back ends: kW now from the
current balance, kWh since the site's local midnight, status and alert counts, totals over every
matching site, paging, the group filter and site scoping."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.alerts.lifecycle import Raise, raise_alert
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import local_midnight_ms, now_ms

MIN = 60_000


def daytime_zone(at_ms: int) -> str:
    """A fixed-offset zone in which ``at_ms`` is between 06:00 and 18:00 local time, so the
    readings of the test all fall on one local day whatever the hour the test runs."""
    for hours in range(-12, 13):
        name = f"Etc/GMT{'+' if hours <= 0 else '-'}{abs(hours)}"  # Etc signs are inverted
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(name))
        if 6 <= local.hour < 18:
            return name
    raise AssertionError("no zone found")


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def ingest(client, headers, readings) -> None:
    response = await client.post("/api/v1/telemetry", json=readings, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [], response.text


async def summary(client, headers, **params) -> dict:
    response = await client.get("/api/v1/fleet/summary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def build_fleet(client, headers) -> dict[str, int]:
    """Site A: a main meter and PV, registers since local midnight and power now; site B (below
    A): one consumer meter; site C: elsewhere, empty."""
    now = now_ms()
    zone = daytime_zone(now)
    a = await make_site(
        client, headers, "Alpha works", timezone=zone, contract_demand_kw=40, country="IT",
        kind="factory",
    )  # fmt: skip
    b = await make_site(client, headers, "Beta store", timezone=zone, parent_id=a, country="IT")
    c = await make_site(client, headers, "Gamma farm", country="DE", kind="solar_park")
    grid = await make_asset(client, headers, a, "Main meter", "grid_connection")
    pv = await make_asset(client, headers, a, "Roof PV", "solar_pv", rated_capacity_kw=30)
    load = await make_asset(client, headers, b, "Shop meter", "meter", role="consumer")
    midnight = local_midnight_ms(zone, now)
    times = [midnight + MIN, midnight + 61 * MIN, midnight + 121 * MIN]
    readings = [
        {"asset": grid, "metric": "energy_kwh", "ts": t, "value": v}
        for t, v in zip(times, [100.0, 110.0, 115.0], strict=True)
    ]
    readings += [
        {"asset": grid, "metric": "energy_export_kwh", "ts": t, "value": 40.0} for t in times
    ]
    readings += [
        {"asset": pv, "metric": "energy_kwh", "ts": t, "value": v}
        for t, v in zip(times, [7.0, 9.0, 12.0], strict=True)
    ]
    readings += [
        {"asset": grid, "metric": "power_kw", "ts": now - 30_000, "value": 12.0},
        {"asset": pv, "metric": "power_kw", "ts": now - 30_000, "value": 8.0},
        {"asset": load, "metric": "power_kw", "ts": now - 20_000, "value": 5.0},
    ]
    await ingest(client, headers, readings)
    return {"a": a, "b": b, "c": c, "grid": grid, "pv": pv, "load": load}


async def test_figures_now_today_and_totals(client, admin, app, sessions):
    fleet = await build_fleet(client, admin)
    async with sessions() as session:
        rule = (
            await client.post(
                "/api/v1/alert-rules",
                json={
                    "name": "High",
                    "kind": "threshold",
                    "severity": "critical",
                    "metric": "power_kw",
                    "params": {"threshold": 1000},
                },
                headers=admin,
            )
        ).json()
        found = Raise(rule["id"], fleet["a"], fleet["grid"], "High", "too high", 1.0)
        await raise_alert(session=session, found=found, flap_window_s=60, flap_max_raises=5)
        await session.commit()

    body = await summary(client, admin)
    assert body["total"] == 3
    by_name = {s["name"]: s for s in body["sites"]}
    assert list(by_name) == ["Alpha works", "Beta store", "Gamma farm"]  # by name

    alpha = by_name["Alpha works"]
    assert alpha["assets"] == 2 and alpha["installed_generation_kw"] == 30
    now = alpha["now"]
    assert now["import_kw"] == 12 and now["generation_kw"] == 8
    assert now["consumption_kw"] == 20  # derived: import - export + generation
    assert now["contract_utilization_pct"] == 30  # 12 kW of 40 kW
    today = alpha["today"]
    assert today["import_kwh"] == pytest.approx(15)  # 115 - 100
    assert today["generation_kwh"] == pytest.approx(5)  # 12 - 7
    assert today["consumption_kwh"] == pytest.approx(20)
    assert today["self_sufficiency"] == pytest.approx(0.25)  # 1 - 15 / 20
    start = datetime.fromisoformat(today["start"])
    assert (start.hour, start.minute) == (0, 0) and start.utcoffset() is not None
    assert alpha["status"]["online"] == 2
    assert alpha["alerts"] == {"open": 1, "critical": 1}

    beta = by_name["Beta store"]
    assert beta["now"]["consumption_kw"] == 5 and beta["now"]["import_kw"] == 5  # derived
    gamma = by_name["Gamma farm"]
    assert gamma["assets"] == 0 and gamma["now"]["timestamp"] is None  # nothing reports

    totals = body["totals"]
    assert totals["sites"] == 3 and totals["assets"] == 3
    assert totals["now"]["consumption_kw"] == 25 and totals["sites_reporting"] == 2
    for term in ("import", "consumption", "generation"):  # Beta's open quarter hour counts too
        each = sum(site["today"][f"{term}_kwh"] for site in body["sites"])
        assert totals["today"][f"{term}_kwh"] == pytest.approx(each)
    assert totals["installed_generation_kw"] == 30
    assert totals["alerts"] == {"open": 1, "critical": 1}
    assert totals["status"]["online"] == 3


async def test_paging_group_and_search(client, admin):
    fleet = await build_fleet(client, admin)
    page = await summary(client, admin, limit=1, offset=1)
    assert page["total"] == 3 and [s["name"] for s in page["sites"]] == ["Beta store"]
    assert page["totals"]["sites"] == 3  # totals cover every matching site, not the page

    group = await summary(client, admin, group=fleet["a"])
    assert [s["name"] for s in group["sites"]] == ["Alpha works", "Beta store"]
    assert group["totals"]["now"]["consumption_kw"] == 25

    found = await summary(client, admin, search="GAMMA")
    assert [s["id"] for s in found["sites"]] == [fleet["c"]]

    italian = await summary(client, admin, country="IT")
    assert [s["name"] for s in italian["sites"]] == ["Alpha works", "Beta store"]
    assert italian["sites"][0]["country"] == "IT" and italian["sites"][0]["kind"] == "factory"
    parks = await summary(client, admin, kind="solar_park", country="DE")
    assert [s["id"] for s in parks["sites"]] == [fleet["c"]]
    assert (await summary(client, admin, kind="solar_park", country="IT"))["total"] == 0


async def test_site_scoped_user_sees_only_its_sites(client, admin, auth_headers):
    fleet = await build_fleet(client, admin)
    viewer = await auth_headers(Role.VIEWER, sites=[fleet["b"]])
    body = await summary(client, viewer)
    assert [s["id"] for s in body["sites"]] == [fleet["b"]]
    assert body["totals"]["sites"] == 1 and body["totals"]["now"]["consumption_kw"] == 5


async def test_bad_parameters_are_422(client, admin):
    bad = ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"group": 0}, {"country": "it"})
    for params in (*bad, {"country": "ITA"}, {"kind": "Solar Park"}):
        response = await client.get("/api/v1/fleet/summary", params=params, headers=admin)
        assert response.status_code == 422, params


async def test_site_country_and_kind_are_checked(client, admin):
    for body in ({"country": "Italy"}, {"country": "it"}, {"kind": "Solar park"}):
        response = await client.post(
            "/api/v1/sites", json={"name": "Bad", "timezone": "UTC", **body}, headers=admin
        )
        assert response.status_code == 422, body
    site = await make_site(client, admin, "Good", country="FR", kind="ev_hub")
    changed = await client.patch(f"/api/v1/sites/{site}", json={"kind": None}, headers=admin)
    assert changed.status_code == 200 and changed.json()["kind"] is None
    assert changed.json()["country"] == "FR"
