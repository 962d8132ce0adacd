"""The demo's sites are priced (Italian F1/F2/F3 tariffs) and its WIA sources are described."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from gridpilot.analytics.tariffs import parse_tariff, rates_per_kwh
from gridpilot.assets import service as assets_service
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.db.engine import transaction
from gridpilot.sim.backfill import backfill
from gridpilot.sim.provision import SIMULATOR, provision
from gridpilot.sim.scenarios import SCENARIOS, scenario_sites

ROME = ZoneInfo("Europe/Rome")


def bands(tariff: dict, *local: datetime) -> list[str]:
    index = pd.DatetimeIndex([pd.Timestamp(t).tz_convert("UTC") for t in local])
    _, names = rates_per_kwh(index, parse_tariff(tariff), "Europe/Rome")
    return list(names)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_demo_site_has_an_italian_time_of_use_tariff(scenario):
    for site in scenario_sites(scenario):
        assert site.tariff is not None, site.name
        tariff = {**site.tariff, "country": "IT"}
        rate = {p["name"]: p["rate_per_kwh"] for p in site.tariff["periods"]}
        assert 0.1 < rate["F3"] <= rate["F2"] <= rate["F1"] < 0.5  # EUR/kWh
        assert bands(
            tariff,
            datetime(2026, 6, 1, 10, tzinfo=ROME),  # Monday morning
            datetime(2026, 6, 1, 7, 30, tzinfo=ROME),  # Monday before 08:00
            datetime(2026, 6, 1, 23, 30, tzinfo=ROME),  # Monday night
            datetime(2026, 6, 6, 10, tzinfo=ROME),  # Saturday
            datetime(2026, 6, 7, 12, tzinfo=ROME),  # Sunday
            datetime(2026, 6, 2, 10, tzinfo=ROME),  # Festa della Repubblica, a Tuesday
        ) == ["F1", "F2", "F3", "F2", "F3", "F3"]


def test_demo_sites_that_export_have_an_export_price():
    """The office (rooftop PV), the parks and the community's prosumers earn 0.105 EUR/kWh for
    what they export (a RID-like price); the factory, which never exports, has none."""
    from decimal import Decimal

    def generates(site) -> bool:
        kinds = {type(a.model).__name__ for a in site.assets}
        return bool(kinds & {"PvPlant", "WindTurbine", "RooftopPv", "Pv"}) or any(
            a.role == "prosumer" or "PV" in a.name for a in site.assets
        )

    exporters = [s for n in SCENARIOS for s in scenario_sites(n) if generates(s)]
    assert len(exporters) >= 4
    for site in exporters:
        assert parse_tariff(site.tariff).export_rate_per_kwh == Decimal("0.105"), site.name
    factory = scenario_sites("factory")[0]
    assert parse_tariff(factory.tariff).export_rate_per_kwh is None


async def test_the_demo_building_is_priced_and_its_rooftop_pv_is_a_described_source(
    app, client, auth_headers
):
    headers = await auth_headers(Role.ADMINISTRATOR)
    assets = await provision(sessions=app.state.sessions, bus=None, scenarios=["building"])
    end = now_ms() // 900_000 * 900_000
    report = await backfill(
        assets,
        runtime=app.state.telemetry,
        seed=4,
        span_ms=MS_PER_DAY,
        step_ms=900_000,
        end_ms=end,
    )
    assert report.rejected == 0
    site_id = assets[0].site_id
    kpis = await client.get(
        "/api/v1/kpis",
        params={"site": site_id, "start": end - MS_PER_DAY, "end": end},
        headers=headers,
    )
    assert kpis.status_code == 200, kpis.text
    cost = kpis.json()["kpis"]["cost"]
    assert cost["value"] is not None and cost["value"] > 0, cost
    assert cost["coverage"] > 0.9
    assert {"F1", "F2", "F3"} & set(cost["by_period"])

    source = await client.get("/api/v1/sources/SOLAR-PV-ITA-00002", headers=headers)
    assert source.status_code == 200, source.text
    body = source.json()
    assert body["name"] == "Rooftop PV" and body["siteId"] == site_id
    assert body["installDate"] and body["operator"]
    assert body["metadata"]["manufacturer"] and body["metadata"]["certifications"]


async def test_a_rerun_fills_in_what_an_older_demo_left_unset(app):
    sessions = app.state.sessions
    first = await provision(sessions=sessions, bus=None, scenarios=["portfolio"])
    async with transaction(sessions) as session:  # as an older demo left them
        for site_id in {a.site_id for a in first}:
            site = await assets_service.get_site(
                session=session, site_id=site_id, principal=SIMULATOR
            )
            site.tariff = None
        turbine = await assets_service.get_asset(
            session=session, asset_id=first[2].asset_id, principal=SIMULATOR
        )
        turbine.operator, turbine.install_date = None, None
        turbine.manufacturer = turbine.model = turbine.serial_number = None
    again = await provision(sessions=sessions, bus=None, scenarios=["portfolio"])
    assert [a.asset_id for a in again] == [a.asset_id for a in first]
    async with sessions() as session:
        for site_id in {a.site_id for a in first}:
            site = await assets_service.get_site(
                session=session, site_id=site_id, principal=SIMULATOR
            )
            assert site.tariff is not None
        turbine = await assets_service.get_asset(
            session=session, asset_id=first[2].asset_id, principal=SIMULATOR
        )
        assert turbine.operator and turbine.install_date and turbine.manufacturer == "Vestas"
