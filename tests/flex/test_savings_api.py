"""GET /api/v1/sites/{id}/flex-savings on both back ends: yesterday of a Rome site re-priced
by hand (a battery charging at the night price and discharging at the day price), months,
bad input, scope."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.flex.schedule_data import BATTERY, TARIFF
from tests.insights.kpis.kpi_test_data import add_tariff, make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, now_ms

ROME = ZoneInfo("Europe/Rome")
FIVE_MIN = 300_000


def _yesterday() -> tuple[str, int, int]:
    today = datetime.now(ROME).date()
    day = today - timedelta(days=1)
    start = int(datetime.combine(day, time(0), ROME).timestamp() * 1000)
    end = int(datetime.combine(today, time(0), ROME).timestamp() * 1000)
    return day.isoformat(), start, end


def _battery_kw(ms: int, start: int) -> float:
    """+20 kW (charging) from 02:00 to 03:00 local, -20 kW from 18:00 to 19:00, else idle."""
    hour = (ms - start) / 3_600_000  # hours since local midnight (a DST day shifts the test)
    if 2 <= hour < 3:
        return 20.0
    if 18 <= hour < 19:
        return -20.0
    return 0.0


async def _site(client, admin) -> tuple[int, str]:
    site_id = await make_site(client, admin, "Savings", timezone="Europe/Rome")
    added = await add_tariff(client, admin, site_id, now_ms() - 60 * MS_PER_DAY, TARIFF)
    assert added.status_code == 201, added.text
    load = await make_asset(client, admin, site_id, "Load", "machine")
    battery = await make_asset(client, admin, site_id, "Battery", "battery")
    body = {**BATTERY, "asset_id": battery}
    made = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)
    assert made.status_code == 201, made.text
    day, start, end = _yesterday()
    readings = []
    for ms in range(start, end + 1, FIVE_MIN):  # the next midnight too: the last quarter ends
        readings.append({"asset": load, "metric": "power_kw", "ts": ms, "value": 30.0})
        readings.append({"asset": battery, "metric": "power_kw", "ts": ms,
                         "value": _battery_kw(ms, start)})  # fmt: skip
    for i in range(0, len(readings), 500):
        sent = await client.post("/api/v1/telemetry", json={"readings": readings[i : i + 500]},
                                 headers=admin)  # fmt: skip
        assert sent.status_code == 200, sent.text
    return site_id, day


async def test_yesterday_repriced_by_hand(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id, day = await _site(client, admin)
    viewer = await auth_headers(Role.VIEWER, [site_id])
    url = f"/api/v1/sites/{site_id}/flex-savings"
    answer = await client.get(url, params={"period": "day", "start": day}, headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["method"] == "re-priced actuals" and body["batteries"] == ["BESS"]
    [figures] = body["periods"]
    assert figures["period"] == day and figures["intervals"] == 96
    assert figures["measured_intervals"] == 96
    # no battery: 30 kW all day, 12 h at 0.40 and 12 h at 0.10
    assert Decimal(figures["no_battery_eur"]) == Decimal("180.00")
    # actual: + 20 kWh at 0.10, - 20 kWh at 0.40, and the 2.05 kWh the losses took from the
    # battery (20 / 0.95 - 20 x 0.95) refilled at 0.10 / 0.95
    assert Decimal(figures["optimised_eur"]) == Decimal("174.22")
    # rule-based: spends its 40 kWh above the floor (38 kWh delivered) from midnight at 0.10,
    # refilled at 0.10 / 0.95: 180 - 3.80 + 4.21
    assert Decimal(figures["rule_based_eur"]) == Decimal("180.41")
    assert figures["saving_vs_no_battery_eur"] == "5.78"
    assert figures["saving_vs_rule_based_eur"] == "6.19"
    assert body["total"]["optimised_eur"] == "174.22"


async def test_month_and_bad_input(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id, day = await _site(client, admin)
    url = f"/api/v1/sites/{site_id}/flex-savings"
    months = await client.get(url, params={"period": "month", "start": day, "count": 2},
                              headers=admin)  # fmt: skip
    assert months.status_code == 200, months.text
    first, second = months.json()["periods"]
    assert first["period"] == day[:7]
    # yesterday's 96 quarter hours and today's first, which holds the sample at midnight
    # (in the second month on the 1st); that quarter has no battery flow
    assert first["measured_intervals"] + second["measured_intervals"] == 97
    assert first["saving_vs_no_battery_eur"] == "5.78"
    assert months.json()["total"]["saving_vs_no_battery_eur"] == "5.78"

    for params in ({"count": 0}, {"period": "month", "count": 13}, {"period": "week"},
                   {"start": "yesterday"}, {"start": "9999-12-01", "period": "month",
                   "count": 12}, {"start": "0001-01-01"}):  # fmt: skip
        bad = await client.get(url, params=params, headers=admin)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"] == "validation_failed", bad.text
    other = await make_site(client, admin, "No tariff")
    missing = await client.get(f"/api/v1/sites/{other}/flex-savings", headers=admin)
    assert missing.status_code == 409 and missing.json()["error"] == "conflict"
    assert missing.json()["details"]["missing"] == ["tariff"]
    outsider = await auth_headers(Role.VIEWER, [other])
    assert (await client.get(url, headers=outsider)).status_code == 404
