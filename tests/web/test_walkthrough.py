"""The dashboard as a user first sees it, on the demo's data (``gridpilot demo --no-serve --days
1``, served by ``gridpilot serve``) in Debian's headless Chromium: every page in light, dark and
at 390 px, a screenshot each (``test-output/screenshots/walk-*``), none wider than the screen
and none with a console error; the charts' times on the sites' zone whatever the browser's
(the browser runs in New York), the site chart's supply side stacked up to consumption, the
dark header dark, the phone's energy flow legible."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.cli.test_demo import demo_env
from tests.web.dashboard_server import PASSWORD, Dashboard, dashboard_server
from tests.web.walkthrough import walk

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

pytestmark = pytest.mark.slow
ROME = ZoneInfo("Europe/Rome")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    data = tmp_path_factory.mktemp("walk")
    subprocess.run(
        [sys.executable, "-m", "gridpilot.cli", "demo", "--no-serve", "--days", "1"],
        env=demo_env(data), capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    with dashboard_server(data) as dashboard:
        dashboard.cli("user", "set-password", "admin", "--password-stdin", stdin=PASSWORD)
        yield dashboard


async def _logged_in(browser: Browser, url: str, width: int = 1440) -> Page:
    """A page logged in as the demo's admin, in a browser whose zone is New York's."""
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, timezone_id="America/New_York"
    )
    page = await context.new_page()
    await page.goto(f"{url}/login?redirect_to=/settings")
    await page.get_by_test_id("username").fill("admin")
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("login").click()
    await expect(page).to_have_url(f"{url}/settings", timeout=30_000)
    return page


async def _option(page: Page, test_id: str) -> dict:
    """A chart's ECharts option as drawn (after its data arrived over the websocket)."""
    await expect(page.get_by_test_id(test_id).locator("canvas")).to_have_count(1)
    await page.wait_for_function(
        """(id) => { const o = getElement(document.querySelector(`[data-testid="${id}"]`))
              .chart.getOption(); return o.series.some((s) => s.data.length > 4); }""",
        arg=test_id,
        timeout=30_000,
    )
    return await page.evaluate(
        """(id) => { const o = getElement(document.querySelector(`[data-testid="${id}"]`))
              .chart.getOption();
              return {useUTC: o.useUTC, xName: o.xAxis[0].name,
                      series: o.series.map((s) => ({name: s.name, stack: s.stack || null,
                                                    data: s.data}))}; }""",
        test_id,
    )


def _wall_ms(utc_ms: int) -> int:
    """``utc_ms`` as Rome's wall clock read on a UTC axis."""
    moment = datetime.fromtimestamp(utc_ms / 1000, ROME)
    return utc_ms + int(moment.utcoffset().total_seconds() * 1000)  # type: ignore[union-attr]


async def test_charts_read_the_sites_zone_and_the_supply_adds_up_to_consumption(server, browser):
    page = await _logged_in(browser, server.url)
    try:
        await page.goto(f"{server.url}/")
        title = page.get_by_test_id("power-title")
        await expect(title).to_contain_text("(Europe/Rome)")  # the demo's sites share Rome
        overview = await _option(page, "power-chart")
        assert overview["useUTC"] is True and "Europe/Rome" in overview["xName"]
        await page.goto(f"{server.url}/sites/5")  # a household with rooftop PV
        site = await _option(page, "history-chart")
        assert site["useUTC"] is True and "Europe/Rome" in site["xName"]
        series = {s["name"]: s for s in site["series"]}
        home = [s for s in site["series"] if s["stack"] == "home"]
        assert [s["name"] for s in home] == ["Generation \u2192 home", "Grid \u2192 home"]
        consumption = series["Consumption"]["data"]
        for stacked in home:  # one shared x index, so ECharts' stacking by index is right
            assert [p[0] for p in stacked["data"]] == [p[0] for p in consumption]
        known = [i for i, p in enumerate(consumption) if p[1] is not None and p[1] > 0.05]
        assert known, consumption
        for i in known[:: max(1, len(known) // 5)]:  # sample points across the day
            total = sum(s["data"][i][1] for s in home)
            assert total == pytest.approx(consumption[i][1], abs=0.01), i
        # the times are Rome's wall clock on a UTC axis: the last point is the last whole
        # quarter hour of Rome's time, not New York's
        now_wall = _wall_ms(int(datetime.now(ROME).timestamp() * 1000))
        assert 0 < now_wall - consumption[-1][0] <= 45 * 60_000
        await page.goto(f"{server.url}/assets/1")
        asset = await _option(page, "live-chart")
        assert asset["useUTC"] is True and "Europe/Rome" in asset["xName"]
    finally:
        await page.context.close()


async def test_the_phone_energy_flow_is_legible_and_the_dark_header_dark(server, browser):
    page = await _logged_in(browser, server.url, width=390)
    try:
        await page.goto(f"{server.url}/sites/3")  # the solar park with its battery
        battery = page.get_by_test_id("flow-battery-discharge")
        await expect(battery).to_be_visible(timeout=30_000)
        height = await battery.evaluate("e => e.getBoundingClientRect().height")
        assert height >= 11, f"the battery's figure is {height:.1f} px high"
        await page.get_by_test_id("dark-toggle").click()
        await page.reload()
        await expect(page.locator("body.body--dark")).to_have_count(1)
        header = await page.locator(".q-header").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert header == "rgb(30, 34, 40)", header  # palette.HEADER_DARK
    finally:
        await page.context.close()


async def test_every_page_in_light_dark_and_on_a_phone(server, browser):
    problems = await walk(browser, server.url, "admin", PASSWORD)
    assert not problems, problems


async def test_a_chart_of_eight_series_has_its_whole_legend_below_the_plot(server, browser):
    page = await _logged_in(browser, server.url, width=390)  # a phone: the narrowest case
    try:
        await page.goto(f"{server.url}/sites/3")  # the solar park: eight series with a battery
        legend = page.get_by_test_id("history-legend")
        await expect(legend.locator("button")).to_have_count(8, timeout=30_000)
        chart = await page.get_by_test_id("history-chart").bounding_box()
        chips = [await c.bounding_box() for c in await legend.locator("button").all()]
        assert all(c and c["y"] >= chart["y"] + chart["height"] for c in chips)  # not over it
        assert all(c and c["x"] >= 0 and c["x"] + c["width"] <= 390 for c in chips)  # no scroll
        shown = """() => getElement(document.querySelector('[data-testid="history-chart"]'))
                     .chart.getOption().legend[0]"""
        assert (await page.evaluate(shown))["show"] is False  # ECharts' own: hidden
        await legend.get_by_text("Grid export").click()  # a chip hides its series
        await page.wait_for_function(f"({shown})().selected['Grid export'] === false")
    finally:
        await page.context.close()
