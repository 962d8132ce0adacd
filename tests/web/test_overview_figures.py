"""The overview's fleet figures agree with each other (no browser): the KPI strip's headline
(today's energy, self-sufficiency), the energy-flow card and the power chart, for a fleet of a
factory whose PV covers part of its load, a solar park with a battery and a wind farm (no grid
meter, no load meter: the demo's plants) whose data ends during the day, and a consumer that
never reported; both back ends.

A plant's consumption is assumed 0 where its generation and storage are known, so its export
is derived there and its intervals are complete (docs/site-energy.md). The reverted 54e69d2
made a plant's consumption unknown everywhere: its export was unknown while its generation was
known, so the flow card counted only the factory's generation against the headline's, the
chart stacked the plants' megawatts of "Generation -> home" over the factory's 40 kW, and
self-sufficiency did not hold. Every figure here is computed by hand.

Power readings every 15 min from local midnight + 15 min (each held 15 min), in a zone where
the test runs in the local daytime, so the last 24 h hold all of today's data:

- Works: load 40 kW for 16 intervals; PV 0, 0, 5, 10, 15, 20, 25, 30, 30, 25, 20, 15, 10, 5, 0,
  0 kW (52.5 kWh); a grid meter importing the rest (107.5 kWh): consumption 160 kWh,
  self-sufficiency 1 - 107.5 / 160;
- Solar park: PV 800 kW and a battery charging 100 kW (intervals 0-3), discharging 50 kW (4-7),
  idle (8-11), then nothing: generation 2,400 kWh, export 2,350 kWh (derived);
- Wind farm: turbines of 1,500 and 1,000 kW for 8 intervals: 5,000 kWh, all exported;
- Silent: a consumer meter without a reading.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.fleet.test_fleet_summary import daytime_zone, ingest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Principal, Role
from gridpilot.control.tasks import status_policy
from gridpilot.core.timestamps import local_midnight_ms, now_ms
from gridpilot.fleet.service import FleetFilter, fleet_summary
from gridpilot.web.charts import LABELS, balance_chart, home_parts
from gridpilot.web.fleet_view import complete_part, fleet_totals, recent, sum_balances
from gridpilot.web.flow_view import fleet_flows

Q = 900_000
ADMIN = Principal(subject="user:0", name="test", role=Role.ADMINISTRATOR)
PV = [0, 0, 5, 10, 15, 20, 25, 30, 30, 25, 20, 15, 10, 5, 0, 0]
BATTERY = [100] * 4 + [-50] * 4 + [0] * 4  # + charging
#: By hand [kWh]: each reading held 15 min, kW x 0.25 h.
HAND = {
    "generation": 52.5 + 2_400 + 5_000,
    "consumption": 160.0,
    "import": 107.5,
    "export": (4 * 700 + 4 * 850 + 4 * 800) / 4 + 5_000,
    "charge": 100.0,
    "discharge": 50.0,
}


def _power(asset: int, first: int, kw: list[float]) -> list[dict]:
    return [
        {"asset": asset, "metric": "power_kw", "ts": first + i * Q, "value": v}
        for i, v in enumerate(kw)
    ]


async def _fleet(client, headers, zone: str, first: int) -> dict[str, int]:
    ids = {
        name: await make_site(client, headers, name, timezone=zone)
        for name in ("Works", "Solar park", "Wind farm", "Silent")
    }
    main = await make_asset(client, headers, ids["Works"], "Main", "grid_connection")
    roof = await make_asset(client, headers, ids["Works"], "Roof PV", "solar_pv")
    field = await make_asset(client, headers, ids["Solar park"], "PV field", "solar_pv")
    battery = await make_asset(client, headers, ids["Solar park"], "Battery", "battery")
    one = await make_asset(client, headers, ids["Wind farm"], "WTG 1", "wind_onshore")
    two = await make_asset(client, headers, ids["Wind farm"], "WTG 2", "wind_onshore")
    await make_asset(client, headers, ids["Silent"], "Till", "meter", role="consumer")
    readings = _power(main, first, [40 - p for p in PV]) + _power(roof, first, PV)
    readings += _power(field, first, [800] * 12) + _power(battery, first, BATTERY)
    readings += _power(one, first, [1_500] * 8) + _power(two, first, [1_000] * 8)
    await ingest(client, headers, readings)
    return ids


async def test_the_overviews_headline_flow_card_and_chart_agree(
    client, auth_headers, app, sessions
):
    headers = await auth_headers(Role.ADMINISTRATOR)
    at = now_ms()
    zone = daytime_zone(at)
    first = local_midnight_ms(zone, at) + Q
    ids = await _fleet(client, headers, zone, first)
    async with sessions() as session:
        fleet = await fleet_summary(
            session=session, principal=ADMIN, where=FleetFilter(), limit=10, offset=0,
            now_ms=now_ms(), tracked=lambda _asset: None,
            policy=status_policy(app.state.settings), history_ms=24 * 3_600_000,
        )  # fmt: skip
    headline = fleet_totals(fleet.every)
    flows, _text = fleet_flows(fleet, 24)
    history = recent(fleet, 24)
    for term, kwh in HAND.items():
        assert headline.today_kwh[term] == pytest.approx(kwh), term
        # the energy-flow card counts the same energy (was 52.5 kWh of generation)
        assert flows.kwh[term] == pytest.approx(kwh), term
        # and so does the power chart [kW x 0.25 h]
        assert float(np.nansum(history.kwh(term))) == pytest.approx(kwh), term
    sufficiency = 1 - 107.5 / 160
    assert 0 < headline.self_sufficiency < 1
    assert headline.self_sufficiency == pytest.approx(sufficiency)
    assert flows.self_sufficiency == pytest.approx(sufficiency)
    # the chart's stack adds up to consumption in every interval and 'Generation -> home'
    # never exceeds it (it was 3.4 MW over the factory's 40 kW)
    parts = home_parts(history)
    known = ~np.isnan(history.kw["consumption"])
    assert known.sum() == 16
    stacked = parts["solar_home"] + parts["battery_home"] + parts["grid_home"]
    assert stacked[known] == pytest.approx(history.kw["consumption"][known])
    assert (parts["solar_home"][known] <= history.kw["consumption"][known] + 1e-9).all()
    # the solar park's own chart: no load where it is known, a gap (not 0) after its data
    park = complete_part(sum_balances([fleet.balances[ids["Solar park"]]]), fleet.now_ms)
    start = park.stamps_ms.index(first)
    assert park.kw["consumption"][start : start + 12].tolist() == [0.0] * 12
    assert np.isnan(park.kw["consumption"][start + 12 :]).all()
    drawn = next(s for s in balance_chart(park)["series"] if s["name"] == LABELS["consumption"])
    after = [value for _ts, value in drawn["data"][start + 12 :]]
    assert after and after == [None] * len(after)
