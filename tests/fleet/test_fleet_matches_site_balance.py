"""The fleet summary's energy today equals each site's own balance (one statement for all sites
against one per site), and both equal the kWh computed by hand; both back ends.

Sites, all in a zone where the test runs in the local daytime, registers read at local midnight
+ 1, 61 and 121 min (whole steps, so each term's sum over the day is the register's rise):

- Works: a main meter (import 100 -> 110 -> 115 kWh, export register flat) and PV (7 -> 9 ->
  12): import 15, export 0, generation 5, consumption 20 (derived), self-sufficiency 0.25;
- Home: a prosumer (import 100 -> 102 -> 103, export 50 -> 50 -> 54, produced 10 -> 14 -> 20):
  import 3, export 4, generation 10, consumption 9 (derived: 3 - 4 + 10);
- Shop: a main meter (0 -> 8 -> 12) with a consumer sub-meter (0 -> 3 -> 5): the sub-meter is
  inside the main meter's import, so import 12 and consumption 12, never 17;
- Silent: a consumer meter that never reported: import and consumption unknown (null, not
  0 kWh), the absent terms 0, coverage 0;
- Empty: no assets.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.fleet.test_fleet_summary import daytime_zone, ingest, summary
from tests.insights.balance.balance_data import community_metrics
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.analytics.site_balance import TERMS
from gridpilot.auth.permissions import Role
from gridpilot.balance.service import site_balances
from gridpilot.core.timestamps import local_midnight_ms, now_ms
from gridpilot.fleet.today import today_of

MIN = 60_000
EXPECTED = {
    "Works": {"import": 15, "export": 0, "generation": 5, "consumption": 20},
    "Home": {"import": 3, "export": 4, "generation": 10, "consumption": 9},
    "Shop": {"import": 12, "export": 0, "generation": 0, "consumption": 12},
    "Silent": {"import": None, "export": 0, "generation": 0, "consumption": None},
    "Empty": {"import": 0, "export": 0, "generation": 0, "consumption": 0},
}


def registers(asset: int, metric: str, values: list[float], midnight: int) -> list[dict]:
    times = [midnight + MIN, midnight + 61 * MIN, midnight + 121 * MIN]
    return [
        {"asset": asset, "metric": metric, "ts": t, "value": v}
        for t, v in zip(times, values, strict=True)
    ]


async def build(client, headers, zone: str, midnight: int) -> dict[str, int]:
    await community_metrics(client, headers)
    ids = {name: await make_site(client, headers, name, timezone=zone) for name in EXPECTED}
    main = await make_asset(client, headers, ids["Works"], "Main", "grid_connection")
    pv = await make_asset(client, headers, ids["Works"], "PV", "solar_pv", rated_capacity_kw=30)
    home = await make_asset(client, headers, ids["Home"], "Home", "household", role="prosumer")
    shop = await make_asset(client, headers, ids["Shop"], "Shop main", "grid_connection")
    sub = await make_asset(
        client, headers, ids["Shop"], "Fridge", "meter", role="consumer", parent_asset_id=shop
    )
    await make_asset(client, headers, ids["Silent"], "Quiet", "meter", role="consumer")
    readings = registers(main, "energy_kwh", [100, 110, 115], midnight)
    readings += registers(main, "energy_export_kwh", [40, 40, 40], midnight)
    readings += registers(pv, "energy_kwh", [7, 9, 12], midnight)
    readings += registers(home, "energy_kwh", [100, 102, 103], midnight)
    readings += registers(home, "energy_export_kwh", [50, 50, 54], midnight)
    readings += registers(home, "energy_produced_kwh", [10, 14, 20], midnight)
    readings += registers(shop, "energy_kwh", [0, 8, 12], midnight)
    readings += registers(sub, "energy_kwh", [0, 3, 5], midnight)
    await ingest(client, headers, readings)
    return ids


async def test_fleet_today_equals_each_sites_balance(client, auth_headers, sessions):
    admin = await auth_headers(Role.ADMINISTRATOR)
    at = now_ms()
    zone = daytime_zone(at)
    midnight = local_midnight_ms(zone, at)
    ids = await build(client, admin, zone, midnight)

    body = await summary(client, admin)
    fleet = {site["name"]: site["today"] for site in body["sites"]}
    assert set(fleet) == set(EXPECTED)
    for name, site_id in ids.items():
        async with sessions() as session:
            alone = await site_balances(
                session=session,
                site_ids=[site_id],
                start_ms=midnight,
                end_ms=at + 1,
                interval="15m",
                now_ms=at,
            )
        own = today_of(alone[site_id], midnight, at)
        for term in TERMS:
            mine = own.known_kwh(term)
            want = None if mine is None else pytest.approx(mine, abs=1e-3)
            assert fleet[name][f"{term}_kwh"] == want, (name, term)
        for term, kwh in EXPECTED[name].items():
            want = None if kwh is None else pytest.approx(kwh, abs=1e-6)
            assert fleet[name][f"{term}_kwh"] == want, (name, term)
        for share in ("self_consumption", "self_sufficiency"):
            mine = getattr(own, share)
            assert fleet[name][share] == (None if mine is None else pytest.approx(mine, abs=1e-4))
        assert fleet[name]["coverage"] == pytest.approx(own.coverage, abs=1e-4)
    assert fleet["Works"]["self_sufficiency"] == pytest.approx(0.25)
    assert fleet["Home"]["self_consumption"] == pytest.approx(0.6)  # (10 - 4) / 10
    assert fleet["Silent"]["coverage"] == 0  # nothing reported: unknown, not 0 kWh measured
    total = body["totals"]["today"]
    for term in ("import", "export", "generation", "consumption"):
        want = float(np.sum([EXPECTED[name][term] or 0.0 for name in EXPECTED]))
        assert total[f"{term}_kwh"] == pytest.approx(want, abs=1e-6), term
