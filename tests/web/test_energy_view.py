"""The energy-flow view, the month cards and the global time range in Debian's headless
Chromium against ``gridpilot serve``: a prosumer house with PV and a battery, and a shop
that only consumes, both in Rome; yesterday's figures hand-computed and equal to the balance
API's; light, dark and a 390 px phone, no console error or CSP violation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import api, dark, log_in, no_sideways_scroll, shot, watched_page

from gridpilot.core.timestamps import iso, now_ms
from gridpilot.web.charts import wall_ms
from gridpilot.web.numbers import UNKNOWN, energy

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

ROME = ZoneInfo("Europe/Rome")
FIVE_MIN = 300_000


def _yesterday() -> tuple[int, int]:
    """Yesterday in Rome as ``[start, end)`` ms."""
    today = datetime.now(ROME).date()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), ROME)
    end = datetime.combine(today, datetime.min.time(), ROME)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _house(start: int, end: int, ids: dict[str, int]) -> list[dict]:
    """Yesterday of the house in four blocks of 6 h (kW): load 2 all day; PV 0, 5, 3, 0;
    battery (+ charging) -1, +1, 0, -2. So [kWh]: consumption 48, generation 48, charge 6,
    discharge 18, export 12 + 6 = 18, import 6 + 0 = 6."""
    readings = []
    six_h = (end - start) / 4  # 6 h, or 5.75 / 6.25 h on a day of a clock change
    for ts in range(start, end, FIVE_MIN):
        block = int((ts - start) // six_h)
        for asset, kw in (("load", 2.0), ("pv", (0, 5, 3, 0)[block]),
                          ("battery", (-1, 1, 0, -2)[block])):  # fmt: skip
            readings.append({"asset": ids[asset], "metric": "power_kw", "ts": ts, "value": kw})
    return readings


def _park(start: int, ids: dict[str, int]) -> list[dict]:
    """A solar park without a grid or load meter (the demo's), readings every 5 min for 12 h
    from yesterday's midnight: PV 10 kW and its battery charging 2 kW from 6 h on, both 0
    before and at the last readings (12 h, held to 12:15); then its data ends. So [kWh]:
    generation 60, charge 12, export 48 (derived: no load where the park reports)."""
    noon = start + 12 * 3_600_000
    readings = []
    for ts in range(start, noon + 1, FIVE_MIN):
        day = start + 6 * 3_600_000 <= ts < noon
        for asset, kw in (("field", 10.0), ("store", 2.0)):
            value = kw if day else 0.0
            readings.append({"asset": ids[asset], "metric": "power_kw", "ts": ts, "value": value})
    return readings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("energy")) as dashboard:
        dashboard.add_user("admin", "administrator")
        http = api(dashboard)
        site = {"timezone": "Europe/Rome", "contract_demand_kw": 6}
        house = http.post("/sites", json={"name": "Flow house", **site}).json()["id"]
        shop = http.post("/sites", json={"name": "Flow shop", "timezone": "Europe/Rome"}).json()
        park = http.post("/sites", json={"name": "Flow park", "timezone": "Europe/Rome"}).json()
        ids = {}
        assets = [("load", "meter", house), ("pv", "solar_pv", house),
                  ("battery", "battery", house), ("till", "meter", shop["id"]),
                  ("field", "solar_pv", park["id"]), ("store", "battery", park["id"])]  # fmt: skip
        for name, kind, at in assets:
            body = {"site_id": at, "name": f"Flow {name}", "kind": kind}
            ids[name] = http.post("/assets", json=body).json()["id"]
        start, end = _yesterday()
        readings = _house(start, end, ids)
        readings += [{"asset": ids["till"], "metric": "power_kw", "ts": ts, "value": 3.0}
                     for ts in range(start, end, FIVE_MIN)]  # fmt: skip
        readings += _park(start, ids)
        for i in range(0, len(readings), 1000):
            stored = http.post("/telemetry", json={"readings": readings[i : i + 1000]})
            assert stored.status_code == 200, stored.text
        yield dashboard, {"house": house, "shop": shop["id"], "park": park["id"],
                          "yesterday": (start, end), **ids}  # fmt: skip


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser, width=390):
        yield opened


async def _pick(page: Page, choice: str) -> None:
    await page.get_by_test_id("time-range-select").click()
    await page.get_by_role("option", name=choice, exact=True).click()


async def test_yesterdays_flows_are_the_hand_computed_and_the_apis(server, page):
    dashboard, ids = server
    start, end = ids["yesterday"]
    totals = (
        api(dashboard)
        .get(f"/sites/{ids['house']}/balance", params={"start": iso(start), "end": iso(end)})
        .json()["totals"]
    )
    hand = {"consumption": 48.0, "generation": 48.0, "charge": 6.0, "discharge": 18.0,
            "export": 18.0, "import": 6.0}  # fmt: skip
    assert {t: round(totals[f"{t}_kwh"], 6) for t in hand} == hand
    await log_in(page, dashboard.url, "admin", f"/sites/{ids['house']}")
    await _pick(page, "Yesterday")
    flow = page.get_by_test_id("energy-flow")
    await expect(flow.get_by_test_id("energy-flow-period")).to_contain_text("Yesterday, ")
    shown = {
        "grid-import": f"\u2192 {energy(totals['import_kwh'])}",  # -> 6.0 kWh
        "grid-export": f"\u2190 {energy(totals['export_kwh'])}",
        "solar-generation": energy(totals["generation_kwh"]),
        "battery-charge": f"\u2193 {energy(totals['charge_kwh'])}",
        "battery-discharge": f"\u2191 {energy(totals['discharge_kwh'])}",
        "home-consumption": "48.0 kWh",
        # per 6-h block: PV 5 -> 2 export, 1 battery, 2 home; PV 3 -> 1 export, 2 home;
        # the battery gives the home 1 then 2 kW; the grid 1 kW at night
        "solar_grid": "18.0 kWh", "solar_battery": "6.0 kWh", "solar_home": "24.0 kWh",
        "battery_home": "18.0 kWh", "grid_home": "6.0 kWh",
    }  # fmt: skip
    for mark, text in shown.items():
        await expect(flow.get_by_test_id(f"flow-{mark}")).to_have_text(text)
    await expect(flow.get_by_test_id("flow-grid_battery")).to_have_count(0)  # nothing flowed
    # the balance chart of the same range on the site's clock: its first point at 00:00 Rome
    first = await page.evaluate(
        """() => getElement(document.querySelector('[data-testid=history-chart]'))
            .chart.getOption().series.find((s) => s.name === 'Consumption').data[0]"""
    )
    offset = datetime.fromtimestamp(start / 1000, ROME).utcoffset()
    assert first == [start + int(offset.total_seconds() * 1000), 2.0]
    await expect(flow.get_by_test_id("energy-flow-notes")).to_have_text(
        "self-consumption 62 % · self-sufficiency 88 %"  # 1 - 18/48, 1 - 6/48
    )
    cards = page.get_by_test_id("month-cards")
    await expect(cards.get_by_test_id("kpi-month-energy-value")).to_contain_text("kWh")
    await expect(cards.get_by_test_id("kpi-month-peak-hint")).to_contain_text("of the contract")
    await expect(cards.get_by_test_id("kpi-month-share-hint")).to_contain_text("self-consumption")
    await shot(page, "energy-flow-site")
    # the range is kept across pages: the KPI page and another site show yesterday too
    await page.goto(f"{dashboard.url}/kpis?site={ids['house']}")
    await expect(page.get_by_test_id("kpi-span")).to_contain_text("Yesterday, ")
    await expect(page.get_by_test_id("kpi-energy_kwh")).to_contain_text("48.0 kWh")
    await page.goto(f"{dashboard.url}/sites/{ids['shop']}")
    await expect(page.get_by_test_id("flow-grid-import")).to_have_text("\u2192 72.0 kWh")


async def test_a_plant_without_a_consumption_meter_shows_dashes_not_0(server, page):
    """The park's consumption is only assumed 0 where it reports: its cards and its flow card's
    home read a dash with the reason (they read 0.0 kWh and 0.0 kW), its chart a gap after its
    data ended (it drew 0), while its generation and derived export stay."""
    dashboard, ids = server
    start, _end = ids["yesterday"]
    await log_in(page, dashboard.url, "admin", f"/sites/{ids['park']}")
    today = page.get_by_test_id("kpi-energy")  # "Consumption today": no data since midnight
    await expect(today.get_by_test_id("kpi-energy-value")).to_have_text(UNKNOWN)
    await expect(today).to_contain_text("no data")
    cards = page.get_by_test_id("month-cards")
    same_month = datetime.fromtimestamp(start / 1000, ROME).month == datetime.now(ROME).month
    why = "no consumption meter" if same_month else "no data"  # yesterday in last month
    for card in ("month-energy", "month-peak"):
        await expect(cards.get_by_test_id(f"kpi-{card}-value")).to_have_text(UNKNOWN)
        await expect(cards.get_by_test_id(f"kpi-{card}-hint")).to_have_text(why)
    await _pick(page, "Yesterday")
    flow = page.get_by_test_id("energy-flow")
    await expect(flow.get_by_test_id("energy-flow-period")).to_contain_text("Yesterday, ")
    await expect(flow.get_by_test_id("flow-home-consumption")).to_have_text(UNKNOWN)
    await expect(flow.get_by_test_id("flow-solar-generation")).to_have_text("60.0 kWh")
    await expect(flow.get_by_test_id("flow-grid-export")).to_have_text("\u2190 48.0 kWh")
    await expect(flow.get_by_test_id("energy-flow-notes")).to_contain_text(
        "home: no consumption meter"
    )
    consumption = await page.evaluate(
        """() => getElement(document.querySelector('[data-testid=history-chart]'))
            .chart.getOption().series.find((s) => s.name === 'Consumption').data"""
    )
    values = [value for _ts, value in consumption]
    # 0 while it reported (the last reading at 11:55 holds into 12:00-12:15), then a gap
    assert values[:49] == [0.0] * 49 and values[49:] == [None] * (len(values) - 49)
    await shot(page, "energy-flow-plant")


async def test_dark_header_and_the_flows_in_the_palettes_colours(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", f"/sites/{ids['house']}")
    await dark(page)
    header = await page.locator(".q-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(30, 34, 40)"  # palette.HEADER_DARK, not the light blue
    await _pick(page, "Yesterday")
    line = page.get_by_test_id("flow-solar_home-line")
    await expect(line).to_have_attribute("class", "gp-line gp-moving")
    # generation orange, as in the charts
    await expect(line).to_have_css("stroke", "rgb(255, 152, 0)")
    await shot(page, "energy-flow-site-dark")


async def test_a_consumer_on_a_phone_sees_grid_and_home_only(server, phone):
    dashboard, ids = server
    await log_in(phone, dashboard.url, "admin", f"/sites/{ids['shop']}")
    await _pick(phone, "Yesterday")
    flow = phone.get_by_test_id("energy-flow")
    await expect(flow.get_by_test_id("flow-grid_home")).to_have_text("72.0 kWh")  # 3 kW x 24 h
    await expect(flow.get_by_test_id("flow-node-solar")).to_have_count(0)
    await expect(flow.get_by_test_id("flow-node-battery")).to_have_count(0)
    await expect(phone.get_by_test_id("kpi-month-share")).to_contain_text("Carbon this month")
    # nor figures that could only read 0 (today's generation, export, self-sufficiency; now)
    for absent in ("kpi-generation", "kpi-export", "kpi-selfsufficiency", "now-generation"):
        await expect(phone.get_by_test_id(absent)).to_have_count(0)
    await expect(phone.get_by_test_id("kpi-import")).to_have_count(1)
    await no_sideways_scroll(phone)
    await shot(phone, "energy-flow-site-phone")


async def test_the_overview_draws_the_fleets_flows(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", "/")
    flow = page.get_by_test_id("energy-flow")
    await expect(flow.get_by_test_id("energy-flow-period")).to_contain_text("Last 24 hours")
    await expect(flow.get_by_test_id("flow-node-solar")).to_have_count(1)
    await expect(flow.get_by_test_id("flow-node-battery")).to_have_count(1)
    await shot(page, "energy-flow-overview")
    # the global time range: yesterday of both sites (house 48 kWh + shop 3 kW x 24 h)
    await _pick(page, "Yesterday")
    await expect(flow.get_by_test_id("energy-flow-period")).to_contain_text("Yesterday, ")
    await expect(flow.get_by_test_id("flow-home-consumption")).to_have_text("120.0 kWh")
    await expect(flow.get_by_test_id("flow-grid-import")).to_have_text("\u2192 78.0 kWh")
    await expect(page.get_by_test_id("power-title")).to_contain_text("Power, Yesterday, ")
    start, _end = ids["yesterday"]
    first = await page.evaluate(
        """() => getElement(document.querySelector('[data-testid=power-chart]'))
            .chart.getOption().series.find((s) => s.name === 'Consumption').data[0]"""
    )
    # the fleet's 00:00 in Rome (2 + 3 kW), drawn on Rome's wall clock (a UTC axis)
    assert first == [wall_ms(start, "Europe/Rome"), 5.0]
    await page.reload()  # the choice is kept
    await expect(flow.get_by_test_id("flow-home-consumption")).to_have_text("120.0 kWh")
    await shot(page, "energy-flow-overview-yesterday")


async def test_a_phone_lists_sites_as_cards_without_sideways_scrolling(server, phone):
    dashboard, ids = server
    await log_in(phone, dashboard.url, "admin", "/sites")
    card = phone.get_by_test_id(f"site-card-{ids['shop']}")
    await expect(card.get_by_role("link", name="Flow shop")).to_be_visible()
    await expect(card).to_contain_text("Consumption today")
    await expect(card).to_contain_text("Open alerts")
    await no_sideways_scroll(phone)
    await shot(phone, "sites-phone")
    await card.get_by_role("link", name="Flow shop").click()
    await expect(phone).to_have_url(f"{dashboard.url}/sites/{ids['shop']}")


async def test_a_lone_live_reading_after_a_gap_is_drawn_as_a_dot(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", f"/assets/{ids['till']}")
    chart = page.get_by_test_id("live-chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    reading = {"asset": ids["till"], "metric": "power_kw", "ts": now_ms(), "value": 4.2}
    assert api(dashboard).post("/telemetry", json={"readings": [reading]}).status_code == 200
    last = """() => {
        const el = document.querySelector('[data-testid=live-chart]');
        const data = getElement(el).chart.getOption().series[0].data;
        return data[data.length - 1];
    }"""
    await page.wait_for_function(f"({last})()?.value?.[1] === 4.2")
    point = await page.evaluate(last)
    drawn = wall_ms(reading["ts"], "Europe/Rome")  # the site's wall clock
    assert point == {"value": [drawn, 4.2], "symbol": "circle", "symbolSize": 7}
    await shot(page, "asset-lone-point")
