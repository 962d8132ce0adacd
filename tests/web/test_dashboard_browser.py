"""The dashboard in Debian's headless Chromium (never a downloaded one) against `gridpilot serve`.

Screenshots of the main pages land in ``test-output/screenshots/`` for reviewers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import httpx
import pytest
from tests.control.conftest import BROKER_HOST, BROKER_PORT, broker_available
from tests.web.dashboard_server import PASSWORD, Dashboard, dashboard_server
from tests.web.settings_browser import fonts_in

from gridpilot.core.timestamps import now_ms
from gridpilot.web.numbers import local_datetime
from gridpilot.web.palette import colour

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

SCREENSHOTS = Path("test-output/screenshots")
QUARTER_MS = 15 * 60_000


def _press_history(asset_id: int) -> list[dict]:
    """Hourly power and a production counter for 43 days up to two days ago.

    Power [kW] = 20 + 0.5 x units made that hour, so daily energy = 480 kWh + 0.5 kWh/unit.
    """
    hour = 3_600_000
    end = now_ms() - 2 * 86_400_000
    end -= end % 86_400_000  # whole UTC days: the fit must not depend on the hour the test runs
    count = 0
    readings = []
    for i in range(43 * 24):
        ts = end - (43 * 24 - i) * hour
        units = (i * 7 + (i // 24) * 13) % 100
        count += units
        readings.append(
            {"asset": asset_id, "metric": "power_kw", "ts": ts, "value": 20 + units / 2}
        )
        readings.append({"asset": asset_id, "metric": "production_count", "ts": ts, "value": count})
    return readings


def _seed(server: Dashboard) -> dict[str, int]:
    """Two sites; a 400 kW consumer and a 60 kW PV plant with six hours of data at site 1."""
    server.add_user("admin", "administrator")
    admin = server.token("admin")
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=admin, timeout=30)
    plant = api.post(
        "/sites",
        json={
            "name": "Browser plant",
            "timezone": "UTC",
            "latitude": 45.46,
            "longitude": 9.19,
            "contract_demand_kw": 500,
        },
    ).json()
    other = api.post("/sites", json={"name": "Other site", "timezone": "UTC"}).json()
    meter = api.post(
        "/assets",
        json={"site_id": plant["id"], "name": "Main meter", "kind": "meter", "role": "consumer"},
    ).json()
    solar = api.post(
        "/assets",
        json={
            "site_id": plant["id"],
            "name": "Roof PV",
            "kind": "solar_pv",
            "role": "producer",
            "rated_capacity_kw": 60,
        },
    ).json()
    start = now_ms() - 6 * 3_600_000
    start -= start % QUARTER_MS
    readings = []
    for i in range(0, 6 * 60, 5):
        ts = start + i * 60_000
        readings.append({"asset": meter["id"], "metric": "power_kw", "ts": ts, "value": 400.0})
        readings.append({"asset": solar["id"], "metric": "power_kw", "ts": ts, "value": 50.0})
    history = start - 15 * 86_400_000  # two weeks of the meter at 400 kW: enough to forecast
    readings += [
        {"asset": meter["id"], "metric": "power_kw", "ts": ts, "value": 400.0}
        for ts in range(history, start, QUARTER_MS)
    ]
    stored = api.post("/telemetry", json={"readings": readings})
    assert stored.status_code == 200, stored.text
    assert solar.get("id") and meter.get("id"), (meter, solar)
    press = api.post(
        "/assets",
        json={"site_id": other["id"], "name": "Press", "kind": "injection_molding"},
    ).json()
    assert press.get("id"), press
    history = api.post("/telemetry", json={"readings": _press_history(press["id"])})
    assert history.status_code == 200, history.text[:500]
    tariff = api.post(
        f"/sites/{plant['id']}/tariffs",
        json={
            "valid_from": "2020-01-01T00:00:00Z",
            "backdate": True,
            "definition": {"currency": "EUR", "country": None, "default_rate_per_kwh": 0.2},
        },
    )
    assert tariff.status_code == 201, tariff.text
    server.add_user("viewer", "viewer", sites=str(other["id"]))
    server.add_user("viewer-all", "viewer")
    server.add_user("operator", "operator")
    return {
        "plant": plant["id"],
        "other": other["id"],
        "meter": meter["id"],
        "solar": solar["id"],
        "press": press["id"],
    }


PREFIX = f"t{uuid.uuid4().hex[:10]}/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    broker_available()
    mqtt = {
        "mqtt_url": f"mqtt://{BROKER_HOST}:{BROKER_PORT}",
        "mqtt_topic_prefix": PREFIX,
        "mqtt_client_id": f"gp-web-{uuid.uuid4().hex[:12]}",
        "mqtt_share_group": "",
        "retention_raw_days": "90",  # the baseline test's history goes back 45 days
    }
    with dashboard_server(tmp_path_factory.mktemp("dashboard"), **mqtt) as dashboard:
        yield dashboard, _seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    blocked: list[str] = []  # what the Content-Security-Policy refused on any page
    opened.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    await context.close()
    assert not blocked, f"the dashboard's CSP blocked: {blocked}"


async def _log_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    """Log in from the overview's address; with the right password, wait for the overview."""
    await page.goto(f"{url}/")
    await expect(page.get_by_test_id("username")).to_be_visible()
    await fonts_in(page)
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("login").click()
    if password == PASSWORD:
        await expect(page).to_have_url(f"{url}/", timeout=30_000)  # a busy CI machine
        await fonts_in(page)


async def _chart_points(page: Page, test_id: str) -> dict[str, list[list[float]]]:
    """The plotted (non-gap) points per line of a chart, read from the ECharts instance."""
    await expect(page.get_by_test_id(test_id).locator("canvas")).to_have_count(1)
    return await page.evaluate(
        """(testId) => {
            const el = document.querySelector(`[data-testid="${testId}"]`);
            const option = getElement(el).chart.getOption();
            return Object.fromEntries(option.series.map(
                (s) => [s.name, s.data.filter((p) => p[1] !== null)]));
        }""",
        test_id,
    )


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_wrong_password_is_refused_with_a_message(server, page):
    dashboard, _ = server
    await _log_in(page, dashboard.url, "admin", "not the password")
    await expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
    await _shot(page, "login-refused")


def _post(dashboard: Dashboard, readings: list[dict]) -> None:
    stored = httpx.post(
        f"{dashboard.url}/api/v1/telemetry",
        json={"readings": readings},
        headers=dashboard.token("admin"),
    )
    assert stored.status_code == 200, stored.text


async def test_overview_shows_kpis_and_a_chart_with_data(server, page):
    dashboard, ids = server
    at = now_ms()
    _post(  # fresh power: the meter draws 400 kW, the PV gives 50: 350 kW from the grid
        dashboard,
        [
            {"asset": ids["meter"], "metric": "power_kw", "ts": at, "value": 400.0},
            {"asset": ids["solar"], "metric": "power_kw", "ts": at, "value": 50.0},
        ],
    )
    await _log_in(page, dashboard.url, "admin")
    await expect(page.get_by_test_id("kpi-sites-value")).to_have_text("2")
    await expect(page.get_by_test_id("kpi-capacity-value")).to_have_text("0.06 MW")  # 60 kW
    energy = page.get_by_test_id("kpi-energy-value")
    await expect(energy).to_contain_text("kWh")
    assert await energy.inner_text() != "0.0 kWh"
    await expect(page.get_by_test_id("kpi-peak-value")).to_have_text("70 %")  # 350 of 500 kW
    await expect(page.get_by_test_id("kpi-cost-value")).to_have_text("per site")
    await expect(page.get_by_test_id("now-consumption")).to_have_text("400.0 kW")
    await expect(page.get_by_test_id("now-generation")).to_have_text("50.0 kW")
    await expect(page.get_by_test_id("now-import")).to_have_text("350.0 kW")
    lines = await _chart_points(page, "power-chart")
    day_ago = now_ms() - 25 * 3_600_000
    consumption = lines["Consumption"]
    # the last 24 h at quarter hours, without a gap, up to the data (seeded minutes ago: the
    # quarter hours since then may be empty)
    assert {b[0] - a[0] for a, b in itertools.pairwise(consumption)} == {QUARTER_MS}
    assert consumption[0][0] <= now_ms() - 24 * 3_600_000 + QUARTER_MS
    assert consumption[-1][0] >= now_ms() - 2 * 3_600_000
    assert all(ts > day_ago and value == 400.0 for ts, value in consumption[:-1])
    generation = dict(lines["Generation"][:-1])
    assert set(generation.values()) <= {0.0, 50.0}, generation
    assert list(generation.values())[-8:] == [50.0] * 8  # the PV's last two hours
    # no battery: the grid's part of consumption is all the import, derived as
    # consumption - generation, stacked on the generation's part
    imported = dict(lines["Grid \u2192 home"][:-1])
    assert all(imported[ts] == 400.0 - generation[ts] for ts in imported), imported
    await expect(page.get_by_test_id("site-map")).to_be_visible()
    await expect(page.locator(".leaflet-interactive")).to_have_count(1)  # one located site
    await _shot(page, "overview")


async def test_live_total_changes_when_a_reading_is_ingested(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "admin")
    live = page.get_by_test_id("now-consumption")
    await expect(live).to_be_visible()
    reading = {"asset": ids["meter"], "metric": "power_kw", "ts": now_ms(), "value": 432.1}
    _post(dashboard, [reading])
    await expect(live).to_have_text("432.1 kW", timeout=15_000)  # the next refresh


async def test_site_page_lists_assets_and_exports_csv(server, page):
    dashboard, ids = server
    # a fresh reading of its own (the seeded history ends minutes ago), so "online" holds
    # whichever test ran before
    _post(
        dashboard, [{"asset": ids["meter"], "metric": "power_kw", "ts": now_ms(), "value": 400.0}]
    )
    await _log_in(page, dashboard.url, "admin")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await page.goto(f"{dashboard.url}/sites/{ids['plant']}")
    table = page.get_by_test_id("asset-table")
    await expect(table).to_contain_text("Main meter")
    await expect(table).to_contain_text("Roof PV")
    # the balance is drawn after the page answers, with the energy flow of the same range
    await expect(page.get_by_test_id("energy-flow-period")).to_contain_text("Last 24 hours")
    history = await _chart_points(page, "history-chart")
    assert len(history["Consumption"]) >= 20
    energy = await _chart_points(page, "energy-bars")  # kWh per hour: 400 kW x 1 h
    assert {value for _, value in energy["Consumption"][1:-1]} == {400.0}
    await expect(table).to_contain_text("online")  # data within 3 expected intervals
    meter, solar = (table.locator("tbody tr", has_text=n) for n in ("Main meter", "Roof PV"))
    await expect(meter.locator("td").nth(4)).to_have_text("\u2013")  # no rating: a dash
    await expect(solar.locator("td").nth(4)).to_have_text("60.0 kW")  # with its unit
    await expect(solar.locator("td").nth(2)).to_have_text("solar pv")  # no raw key
    await expect(page.get_by_test_id("now-reason")).to_be_hidden()  # the plant reports
    async with page.expect_download() as download_info:
        await page.get_by_test_id("csv-export").click()
    download = await download_info.value
    content = Path(await download.path()).read_text()
    lines = content.strip().splitlines()
    assert lines[0] == "ts,consumption_kw,generation_kw,import_kw,export_kw"
    assert any(",400.000,50.000,350.000," in line for line in lines[1:])
    await expect(page.get_by_test_id("kpi-cost-value")).to_contain_text("€")
    await _shot(page, "site")


async def test_a_viewer_limited_to_another_site_does_not_see_the_plant(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "viewer")
    await expect(page.get_by_test_id("kpi-sites-value")).to_have_text("1")
    # the press's data ends two days ago: today's consumption is unknown, a dash, not 0.0 kWh
    await expect(page.get_by_test_id("kpi-energy-value")).to_have_text("\u2013")
    await expect(page.get_by_test_id("kpi-energy")).to_contain_text("no data")
    await page.goto(f"{dashboard.url}/sites/{ids['plant']}")
    await expect(page.get_by_text(f"There is no site {ids['plant']} you may see.")).to_be_visible()


async def test_now_says_why_a_silent_site_shows_dashes(server, page):
    dashboard, ids = server
    last = _press_history(ids["press"])[-1]["ts"]  # two days ago: nothing fresh
    await _log_in(page, dashboard.url, "viewer")  # the press's site only
    reason = page.get_by_test_id("now-reason")
    said = f"No reading in the last 5 min (the last at {local_datetime(last, 'UTC')})"
    await expect(reason).to_have_text(said)
    await expect(page.get_by_test_id("now-consumption")).to_have_text("\u2013")
    await page.goto(f"{dashboard.url}/sites/{ids['other']}")
    await expect(reason).to_have_text(said)
    press = page.get_by_test_id("asset-table").locator("tbody tr", has_text="Press")
    await expect(press.locator("td").nth(5)).to_have_text("\u2013")  # no power "now" 2 d old
    await expect(press.locator("td").nth(6)).to_have_text("2 d ago")
    await _shot(page, "site-silent")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(reason).to_be_visible()
    await _shot(page, "site-silent-phone")


async def test_the_live_chart_draws_the_colour_of_the_assets_flow(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "viewer-all")
    for asset, flow in (("meter", "consumption"), ("solar", "generation")):
        await page.goto(f"{dashboard.url}/assets/{ids[asset]}")
        await expect(page.get_by_test_id("live-chart").locator("canvas")).to_have_count(1)
        drawn = await page.evaluate(
            """() => getElement(document.querySelector('[data-testid="live-chart"]'))
                .chart.getOption().series[0].color""",
        )
        assert drawn == colour(flow), (asset, drawn)
    await page.get_by_test_id("dark-toggle").click()
    await page.reload()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await expect(page.get_by_test_id("live-chart").locator("canvas")).to_have_count(1)
    drawn = await page.evaluate(
        """() => getElement(document.querySelector('[data-testid="live-chart"]'))
            .chart.getOption().series[0].color""",
    )
    assert drawn == colour("generation", dark=True)
    await fonts_in(page)
    await _shot(page, "asset-live-dark")


async def test_dark_mode_is_remembered_and_logout_ends_the_session(server, page):
    dashboard, _ = server
    await _log_in(page, dashboard.url, "admin")
    await page.get_by_test_id("dark-toggle").click()
    await page.reload()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await _shot(page, "overview-dark")
    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("username")).to_be_visible()
    await page.goto(f"{dashboard.url}/sites")
    await expect(page.get_by_test_id("username")).to_be_visible()


async def test_kpi_page_shows_figures_and_the_cost_breakdown(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "admin")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await page.goto(f"{dashboard.url}/kpis?site={ids['plant']}&period=Last 7 days")
    # the figures follow the page (computed after it answered)
    energy = page.get_by_test_id("kpi-energy_kwh")  # kWh, MWh from 10,000 kWh as elsewhere
    await expect(energy).to_contain_text(re.compile(r"[\d,.]+ (kWh|MWh)"), timeout=20_000)
    await expect(page.get_by_test_id("kpi-peak_demand_kw")).to_contain_text("kW")
    breakdown = page.get_by_test_id("cost-breakdown")
    await expect(breakdown).to_contain_text("Energy cost")
    await expect(breakdown).to_contain_text(re.compile(r"Energy cost: \u20ac[\d,]+\.\d\d"))
    await _shot(page, "kpis")


async def _device(topic: str, ready: asyncio.Event) -> None:
    """A device on ``topic``: birth message, then acknowledges and completes every command."""
    will = aiomqtt.Will(f"{topic}/status", b"offline", qos=1)
    async with aiomqtt.Client(
        BROKER_HOST, BROKER_PORT, identifier=f"gp-dev-{uuid.uuid4().hex}", will=will
    ) as device:
        await device.subscribe(f"{topic}/commands", qos=1)
        await device.publish(f"{topic}/status", b"online", qos=1)
        ready.set()
        async for message in device.messages:
            command = json.loads(message.payload)
            for state in ("acknowledged", "succeeded"):
                ack = {"command_id": command["command_id"], "state": state}
                await device.publish(f"{topic}/commands/ack", json.dumps(ack), qos=1)


async def test_an_operator_sends_a_command_and_watches_it_succeed(server, page):
    dashboard, ids = server
    ready = asyncio.Event()
    topic = f"{PREFIX}gridpilot/{ids['plant']}/{ids['meter']}"
    device = asyncio.create_task(_device(topic, ready))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        await _log_in(page, dashboard.url, "operator")
        await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
        await page.goto(f"{dashboard.url}/assets/{ids['meter']}")
        await expect(page.get_by_test_id("asset-status")).to_have_text("online")
        card = page.get_by_test_id("latest-power_kw")
        await expect(card).to_contain_text("Active power")  # a name, not the key
        reading = {"asset": ids["meter"], "metric": "power_kw", "ts": now_ms(), "value": 820.44}
        admin = dashboard.token("admin")
        stored = httpx.post(
            f"{dashboard.url}/api/v1/telemetry", json={"readings": [reading]}, headers=admin
        )
        assert stored.status_code == 200, stored.text
        await expect(card).to_contain_text("820.4 kW")  # live, with its unit
        await page.get_by_test_id("command-value").fill("150")
        await page.get_by_test_id("send-command").click()
        history = page.get_by_test_id("command-history")
        await expect(history).to_contain_text("set power limit")
        await expect(history).to_contain_text("Limit 150 kW")  # the form's words
        await expect(history).to_contain_text("operator")  # who sent it, by name
        await expect(history).not_to_contain_text("user:")
        await expect(history).to_contain_text(" UTC")  # the site's zone (the plant is on UTC)
        await expect(history).to_contain_text("succeeded", timeout=40_000)
        await _shot(page, "asset-command")
    finally:
        device.cancel()
        await asyncio.gather(device, return_exceptions=True)


async def test_a_viewer_sees_commands_but_no_command_button(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "viewer-all")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await page.goto(f"{dashboard.url}/assets/{ids['meter']}")
    await expect(page.get_by_test_id("command-history")).to_be_visible()
    await expect(page.get_by_test_id("send-command")).to_have_count(0)
    await expect(page.get_by_test_id("command-panel")).to_have_count(0)


async def test_forecast_page_shows_the_day_ahead_with_bands(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "admin")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await page.goto(f"{dashboard.url}/forecast?site={ids['plant']}")
    # the forecasts follow the page (made on demand, after it answered)
    await expect(page.get_by_test_id("forecast-chart")).to_be_visible(timeout=30_000)
    lines = await _chart_points(page, "forecast-chart")
    forecast = lines["Consumption forecast"]
    assert len(forecast) >= 96  # a day at 15 minutes
    assert all(350 < value < 480 for _, value in forecast)  # the meter holds 400 kW
    assert all(width >= 0 for _, width in lines["Consumption 95 %"])
    assert lines["Consumption measured"]
    # the roof PV reported for 6 hours only: measured, but too little history to forecast
    assert {value for _, value in lines["Generation measured"][:-1]} == {50.0}
    assert "Generation forecast" not in lines
    await expect(page.get_by_test_id("forecast-generation")).to_contain_text("too little history")
    await _shot(page, "forecast")


async def test_an_operator_fits_a_baseline_with_production_as_driver(server, page):
    dashboard, ids = server
    await _log_in(page, dashboard.url, "operator")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await page.goto(f"{dashboard.url}/baselines")
    await page.get_by_test_id("baseline-name").fill("Press energy")
    await page.get_by_test_id("baseline-asset").click()
    await page.get_by_role("option", name=f"Press (#{ids['press']})").click()
    # the temperature list offers the press's site only (not the plant's meter or PV)
    await page.get_by_test_id("baseline-weather").click()
    options = page.locator(".q-menu .q-item")
    await expect(options).to_have_count(1)
    await expect(options).to_have_text(f"Press (#{ids['press']})")
    await page.keyboard.press("Escape")
    # operating hours take their threshold
    threshold = page.get_by_test_id("driver-threshold")
    await expect(threshold).to_be_hidden()
    await page.get_by_test_id("driver-operating_hours").click()
    await expect(threshold).to_be_visible()
    await page.get_by_test_id("driver-operating_hours").click()
    await page.get_by_test_id("driver-production_count").click()
    await page.get_by_test_id("fit-baseline").click()  # the default period: the last 2 weeks
    coefficients = page.get_by_test_id("coefficients")
    await expect(coefficients).to_contain_text("Production", timeout=30_000)  # by name
    await expect(coefficients).not_to_contain_text("production_count")
    r2 = float((await page.get_by_test_id("fit-r2").inner_text()).split()[1])
    assert r2 > 0.8
    fit_end = (await page.get_by_test_id("fit-period").inner_text()).split("\u2013")[-1]
    fit_end_ms = int(
        datetime.strptime(fit_end.strip(), "%Y-%m-%d UTC").replace(tzinfo=UTC).timestamp() * 1000
    )
    await expect(page.get_by_test_id("report-period")).to_contain_text("after the fit period")
    report = await _chart_points(page, "report-chart")
    assert len(report["actual"]) >= 1  # the press reported until two days ago
    assert min(ts for ts, _ in report["actual"]) >= fit_end_ms  # no overlap with the fit
    assert len(report["CUSUM"]) == len(report["actual"])
    await _shot(page, "baseline")


async def test_admin_creates_a_user_and_a_key_that_works_once_shown(server, page):
    dashboard, _ = server
    await _log_in(page, dashboard.url, "admin")
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_test_id("new-username").fill("ops-anna")
    await page.get_by_test_id("new-password").fill("a long enough password")
    await page.get_by_test_id("add-user").click()
    await expect(page.get_by_test_id("users-table")).to_contain_text("ops-anna")
    await _shot(page, "admin-users")

    await page.get_by_role("tab", name="API keys").click()
    await page.get_by_test_id("new-key-name").fill("scada bridge")
    await page.get_by_test_id("add-key").click()
    shown = page.get_by_test_id("new-key-value")
    await expect(shown).to_contain_text("gpk_")
    raw = (await shown.inner_text()).strip().split()[0]
    answer = httpx.get(f"{dashboard.url}/api/v1/sites", headers={"X-API-Key": raw})
    assert answer.status_code == 200, answer.text
    # the whole key is visible: nothing of it scrolls or sticks out of the dialog
    card = page.locator(".q-dialog .q-card")
    key_box, card_box = await shown.bounding_box(), await card.bounding_box()
    assert key_box and card_box
    assert key_box["x"] + key_box["width"] <= card_box["x"] + card_box["width"] + 1
    overflowing = await shown.evaluate(
        "e => [e, ...e.querySelectorAll('*')].filter(n => n.scrollWidth > n.clientWidth + 1)"
        ".map(n => n.tagName + '.' + n.className + ' ' + n.scrollWidth + '/' + n.clientWidth)"
    )
    assert not overflowing, overflowing
    await _shot(page, "admin-key-created")


async def test_viewers_see_no_administration(server, page):
    dashboard, _ = server
    await _log_in(page, dashboard.url, "viewer")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    await page.goto(f"{dashboard.url}/admin")
    await expect(page.get_by_text("Only administrators may open this page.")).to_be_visible()


async def test_overview_fits_a_phone_screen(server, browser):
    dashboard, _ = server
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = await context.new_page()
    try:
        await _log_in(phone, dashboard.url, "admin")
        await expect(phone.get_by_test_id("kpi-energy-value")).to_be_visible()
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        header = await phone.locator(".q-header").bounding_box()
        assert header and header["height"] < 80, "the header wraps onto more than one row"
        await _shot(phone, "overview-phone")
        await phone.get_by_test_id("nav-menu").click()  # the links live in a drawer
        drawer = phone.get_by_test_id("nav-drawer")
        await expect(drawer).to_contain_text("Alerts")
        await _shot(phone, "overview-phone-menu")
        await drawer.get_by_text("Alerts").click()
        await expect(phone).to_have_url(f"{dashboard.url}/alerts")
    finally:
        await context.close()


async def test_a_new_alert_toasts_and_an_operator_acknowledges_it(server, page):
    dashboard, ids = server
    admin = dashboard.token("admin")
    rule = httpx.post(
        f"{dashboard.url}/api/v1/alert-rules",
        json={
            "name": "Meter overload",
            "kind": "threshold",
            "metric": "power_kw",
            "asset_id": ids["meter"],
            "severity": "critical",
            "params": {"operator": "above", "threshold": 1000},
        },
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    await _log_in(page, dashboard.url, "operator")
    await expect(page.get_by_test_id("kpi-sites-value")).to_be_visible()
    await page.goto(f"{dashboard.url}/alerts")
    await expect(page.get_by_test_id("alert-list")).to_be_visible()
    reading = {"asset": ids["meter"], "metric": "power_kw", "ts": now_ms(), "value": 1200.0}
    stored = httpx.post(
        f"{dashboard.url}/api/v1/telemetry", json={"readings": [reading]}, headers=admin
    )
    assert stored.status_code == 200, stored.text
    toast = page.get_by_text("New alert: Main meter: Active power above 1,000 kW")
    await expect(toast).to_be_visible(timeout=30_000)
    alerts = httpx.get(
        f"{dashboard.url}/api/v1/alerts", params={"rule_id": rule.json()["id"]}, headers=admin
    ).json()
    [alert] = alerts
    card = page.get_by_test_id(f"alert-{alert['id']}")
    await expect(card).to_contain_text("critical")
    await page.get_by_test_id(f"alert-{alert['id']}-comment").fill("crew on site")
    await page.get_by_test_id(f"alert-{alert['id']}-ack").click()
    await expect(page.get_by_text(f"Alert {alert['id']} acknowledged")).to_be_visible()
    await expect(page.get_by_test_id(f"alert-{alert['id']}-state")).to_have_text("acknowledged")
    await expect(card).to_contain_text("crew on site")
    await expect(card).to_contain_text("acknowledged by operator")
    await expect(page.get_by_test_id(f"alert-{alert['id']}-raised")).to_contain_text(" UTC")
    answer = httpx.get(f"{dashboard.url}/api/v1/alerts/{alert['id']}", headers=admin).json()
    assert answer["state"] == "acknowledged"
    assert answer["acknowledged_by"] == "operator"
    await _shot(page, "alerts")
