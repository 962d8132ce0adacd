"""The overview's KPI strip shows the fleet seed's four figures (total sites, capacity in MW,
carbon saved, grid revenue) with hand-computed values and a tooltip saying how each is
computed, in headless Chromium against ``gridpilot serve`` (SQLite): light, dark and a 390 px
phone, no console error or CSP violation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.fleet.test_fleet_summary import daytime_zone
from tests.web.dashboard_server import PASSWORD, Dashboard, dashboard_server
from tests.web.test_dashboard_browser import _shot

from gridpilot.core.timestamps import local_midnight_ms, now_ms

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

MIN = 60_000


def _api(dashboard: Dashboard, path: str, body: dict) -> dict:
    answer = httpx.post(f"{dashboard.url}{path}", json=body, headers=dashboard.token("admin"))
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _seed(dashboard: Dashboard) -> None:
    """Two sites on a zone where it is daytime. 'Sunny farm': 2,400 kW of PV generating
    0 -> 20 -> 40 kWh since local midnight (factor 0.5 kg/kWh: 20 kg CO2 saved), exporting
    0 -> 10 -> 15 kWh at 0.08 EUR/kWh (1.20 EUR). 'Plain shop': 100 kW PV, no export price,
    exporting 5 kWh (earns 0)."""
    zone = daytime_zone(now_ms())
    midnight = local_midnight_ms(zone, now_ms())
    times = [midnight, midnight + 60 * MIN, midnight + 120 * MIN]
    plan = [
        ("Sunny farm", 0.5, 2400.0, {"export_rate_per_kwh": 0.08}, [0.0, 10.0, 15.0]),
        ("Plain shop", 0.4, 100.0, {}, [0.0, 5.0, 5.0]),
    ]
    readings = []
    for name, factor, rated, export, exported in plan:
        site = _api(
            dashboard,
            "/api/v1/sites",
            {"name": name, "timezone": zone, "emission_factor_kg_per_kwh": factor},
        )["id"]
        body = {"site_id": site, "kind": "grid_connection", "name": f"{name} meter"}
        meter = _api(dashboard, "/api/v1/assets", body)["id"]
        body = {"site_id": site, "kind": "solar_pv", "name": f"{name} PV"}
        pv = _api(dashboard, "/api/v1/assets", {**body, "rated_capacity_kw": rated})["id"]
        tariff = {"default_rate_per_kwh": 0.25, **export}
        _api(
            dashboard,
            f"/api/v1/sites/{site}/tariffs",
            {"valid_from": 0, "definition": tariff, "backdate": True},
        )
        for ts, out, made in zip(times, exported, [0.0, 20.0, 40.0], strict=True):
            readings += [
                {"asset": meter, "metric": "energy_export_kwh", "ts": ts, "value": out},
                {"asset": meter, "metric": "energy_kwh", "ts": ts, "value": 100.0},
                {"asset": pv, "metric": "energy_kwh", "ts": ts, "value": made},
            ]
    _api(dashboard, "/api/v1/telemetry", {"readings": readings})
    time.sleep(2)  # the rollups (every 0.5 s) that the balance reads


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with dashboard_server(tmp_path_factory.mktemp("strip")) as dashboard:
        dashboard.add_user("admin", "administrator")
        _seed(dashboard)
        yield dashboard


async def _open(browser: Browser, url: str, width: int, height: int) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    await page.goto(f"{url}/login")
    await page.get_by_test_id("username").fill("admin")
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("kpi-revenue-value")).to_be_visible(timeout=30_000)
    yield page
    await context.close()
    assert not problems, problems


@pytest.fixture
async def desktop(browser: Browser, server: Dashboard) -> AsyncIterator[Page]:
    async for page in _open(browser, server.url, 1280, 900):
        yield page


@pytest.fixture
async def phone(browser: Browser, server: Dashboard) -> AsyncIterator[Page]:
    async for page in _open(browser, server.url, 390, 844):
        yield page


async def test_the_strip_shows_the_seed_figures_with_how_they_are_computed(desktop):
    page = desktop
    await expect(page.get_by_test_id("kpi-sites-value")).to_have_text("2")
    await expect(page.get_by_test_id("kpi-capacity-value")).to_have_text("2.50 MW")  # 2,500 kW
    # 40 kWh x 0.5 + 40 kWh x 0.4 kg CO2/kWh
    await expect(page.get_by_test_id("kpi-carbon-saved-value")).to_have_text("36 kg CO₂")
    await expect(page.get_by_test_id("kpi-revenue-value")).to_have_text("€1.20")  # 15 x 0.08
    await expect(page.get_by_test_id("kpi-revenue")).to_contain_text(
        "1 of 2 sites without export price"
    )
    strip = page.get_by_test_id("kpi-strip")
    await expect(strip.get_by_test_id("kpi-sites")).to_be_visible()
    await page.get_by_test_id("kpi-revenue").hover()
    how = page.get_by_test_id("kpi-revenue-how")
    await expect(how).to_contain_text("export price for each 15-min interval")
    await _shot(page, "fleet-strip-revenue-tooltip")
    await page.get_by_test_id("kpi-carbon-saved").hover()
    await expect(page.get_by_test_id("kpi-carbon-saved-how")).to_contain_text(
        "grid emission factor"
    )
    await page.mouse.move(0, 0)
    await _shot(page, "fleet-strip")
    await page.get_by_test_id("dark-toggle").click()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await _shot(page, "fleet-strip-dark")


async def test_the_strip_fits_a_phone(phone):
    await expect(phone.get_by_test_id("kpi-revenue-value")).to_have_text("€1.20")
    overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the overview is {overflow} px wider than the phone"
    await _shot(phone, "fleet-strip-phone")
    await phone.get_by_test_id("dark-toggle").click()
    await expect(phone.locator("body.body--dark")).to_have_count(1)
    await _shot(phone, "fleet-strip-phone-dark")
