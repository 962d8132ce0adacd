"""The flexibility parts of the site and KPI pages in Debian's headless Chromium against
``gridpilot serve``: the stored schedule's status line and two charts (powers, SOC and prices)
on the site's clock, the savings per day on the KPI page; light, dark and a 390 px phone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from tests.flex.schedule_data import BATTERY, TARIFF
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import api, dark, log_in, no_sideways_scroll, shot, watched_page

from gridpilot.core.timestamps import now_ms

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

QUARTER = 900_000
DAY = 86_400_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, int]]:
    """A Rome office with 15 days of load history, a ToU tariff, a battery and a stored plan."""
    with dashboard_server(tmp_path_factory.mktemp("flex")) as dashboard:
        dashboard.add_user("admin", "administrator")
        dashboard.add_user("viewer", "viewer")
        http = api(dashboard)
        site = http.post("/sites", json={"name": "Flex office", "timezone": "Europe/Rome"}).json()
        meter = http.post("/assets", json={"site_id": site["id"], "name": "Office meter",
                                           "kind": "meter", "role": "consumer"}).json()  # fmt: skip
        battery = http.post("/assets", json={"site_id": site["id"], "name": "Battery",
                                             "kind": "battery"}).json()  # fmt: skip
        made = http.post(f"/sites/{site['id']}/tariffs",
                         json={"valid_from": now_ms() - 30 * DAY, "definition": TARIFF,
                               "backdate": True})  # fmt: skip
        assert made.status_code == 201, made.text
        made = http.post(f"/sites/{site['id']}/flex-resources",
                         json={**BATTERY, "asset_id": battery["id"]})  # fmt: skip
        assert made.status_code == 201, made.text
        end = now_ms() // QUARTER * QUARTER
        ts = np.arange(end - 15 * DAY, end, QUARTER, dtype=np.int64)
        hour = (ts % DAY) / 3_600_000
        kw = 30.0 + 20.0 * ((hour >= 7) & (hour < 17))
        readings = [{"asset": meter["id"], "metric": "power_kw", "ts": int(t), "value": float(v)}
                    for t, v in zip(ts, kw, strict=True)]  # fmt: skip
        for i in range(0, len(readings), 500):
            sent = http.post("/telemetry", json={"readings": readings[i : i + 500]})
            assert sent.status_code == 200, sent.text
        # the battery reported idle over the last day: the balance knows the grid import
        idle = [{"asset": battery["id"], "metric": "power_kw", "ts": int(t), "value": 0.0}
                for t in range(end - DAY, end + 1, QUARTER)]  # fmt: skip
        assert http.post("/telemetry", json={"readings": idle}).status_code == 200
        plan = http.post(f"/sites/{site['id']}/schedule")
        assert plan.status_code == 200, plan.text
        assert plan.json()["status"] == "optimal"
        yield dashboard, int(site["id"])


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser, width=390):
        yield opened


async def _series(page: Page, test_id: str) -> list[list]:
    """(series name, points drawn) of a chart, read from its ECharts instance."""
    await expect(page.get_by_test_id(test_id).locator("canvas")).to_have_count(1)
    return await page.evaluate(
        f"""() => {{
            const el = document.querySelector('[data-testid={test_id}]');
            const option = getElement(el).chart.getOption();
            return option.series.map((s) => [s.name, s.data.length]);
        }}"""
    )


async def test_the_site_page_shows_the_schedule(server, page):
    dashboard, site = server
    await log_in(page, dashboard.url, "viewer", f"/sites/{site}")
    status = page.get_by_test_id("schedule-status")
    await expect(status).to_contain_text("optimal")
    await expect(status).to_contain_text("CET")  # planned at, on the site's clock
    await expect(status).to_contain_text("24 h from")
    await expect(status).to_contain_text("saved today")
    # 96 steps and the plan's end: each value holds over its quarter hour
    assert await _series(page, "schedule-power") == [
        ["Load forecast", 97], ["PV forecast", 97], ["Grid import", 97], ["Grid export", 97],
        ["Battery discharge", 97], ["Battery charge", 97],
    ]  # fmt: skip
    assert await _series(page, "schedule-soc") == [
        ["SOC BESS [%]", 97], ["Import price [EUR/kWh]", 97], ["Export price [EUR/kWh]", 97],
    ]  # fmt: skip
    await page.get_by_test_id("schedule-card").scroll_into_view_if_needed()
    await shot(page, "flex-schedule")
    await dark(page)
    await expect(page.get_by_test_id("schedule-soc").locator("canvas")).to_have_count(1)
    await page.get_by_test_id("schedule-card").scroll_into_view_if_needed()
    await shot(page, "flex-schedule-dark")


async def test_the_schedule_and_savings_on_a_phone(server, phone):
    dashboard, site = server
    await log_in(phone, dashboard.url, "viewer", f"/sites/{site}")
    await expect(phone.get_by_test_id("schedule-power").locator("canvas")).to_have_count(1)
    await no_sideways_scroll(phone)
    await shot(phone, "flex-schedule-phone")
    await phone.goto(f"{dashboard.url}/kpis?site={site}&period=Last 7 days")
    card = phone.get_by_test_id("flex-savings")
    await expect(card).to_contain_text("Saved vs no battery", timeout=20_000)  # after the page
    await expect(card).to_contain_text("EUR")
    await expect(card).to_contain_text("quarter hours measured")
    # an idle battery saves nothing: the operation cost what no battery would have
    await expect(phone.get_by_test_id("flex-saving-no-battery")).to_have_text(
        "Saved vs no battery: 0.00 EUR"
    )
    assert [name for name, _ in await _series(phone, "flex-savings-chart")] == [
        "vs no battery", "vs rule-based",
    ]  # fmt: skip
    assert (await _series(phone, "flex-savings-chart"))[0][1] == 7  # one bar per local day
    await no_sideways_scroll(phone)
    await shot(phone, "flex-savings-phone")
