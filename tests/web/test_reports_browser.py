"""The reports page in Debian's headless Chromium against `gridpilot serve`: create a monthly
report, preview it, run it now, download its PDF; a report of a device group; dark and phone
screenshots; a viewer of another site sees none of it. Screenshots land in
``test-output/screenshots/``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import log_in

from gridpilot.core.timestamps import now_ms

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

SCREENSHOTS = Path("test-output/screenshots")
QUARTER_MS = 15 * 60_000
ROME = ZoneInfo("Europe/Rome")


def _previous_month_kwh(readings: list[dict]) -> float:
    """Energy of last month in Rome [kWh]: each reading stands for its quarter hour."""
    today = datetime.now(ROME).date().replace(day=1)
    start = (
        today.replace(year=today.year - 1, month=12)
        if today.month == 1
        else today.replace(month=today.month - 1)
    )
    lo = datetime(start.year, start.month, 1, tzinfo=ROME).timestamp() * 1000
    hi = datetime(today.year, today.month, 1, tzinfo=ROME).timestamp() * 1000
    return sum(r["value"] / 4 for r in readings if lo <= r["ts"] < hi)


def _seed(server: Dashboard) -> dict[str, object]:
    """A Rome site with one consumer drawing 40 kW (20 kW at night) for the last 62 days."""
    server.add_user("admin", "administrator")
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.token("admin"), timeout=60)
    site = api.post("/sites", json={"name": "Roma Società", "timezone": "Europe/Rome"}).json()
    other = api.post("/sites", json={"name": "Elsewhere", "timezone": "UTC"}).json()
    line = api.post(
        "/assets",
        json={"site_id": site["id"], "name": "Line 1", "kind": "machine", "role": "consumer"},
    ).json()
    tariff = {"currency": "EUR", "default_rate_per_kwh": 0.2, "fixed_charge_per_day": 1.0}
    added = api.post(
        f"/sites/{site['id']}/tariffs",
        json={"valid_from": "2020-01-01T00:00:00Z", "backdate": True, "definition": tariff},
    )
    assert added.status_code == 201, added.text
    end = now_ms() - now_ms() % QUARTER_MS
    readings = [
        {
            "asset": line["id"],
            "metric": "power_kw",
            "ts": ts,
            "value": 40.0 if 6 <= datetime.fromtimestamp(ts / 1000, ROME).hour < 20 else 20.0,
        }
        for ts in range(end - 62 * 86_400_000, end, QUARTER_MS)
    ]
    for i in range(0, len(readings), 1000):
        stored = api.post("/telemetry", json={"readings": readings[i : i + 1000]})
        assert stored.status_code == 200, stored.text[:300]
    server.add_user("outsider", "viewer", sites=str(other["id"]))
    group = api.post("/groups", json={"name": "Lines", "kind": "static", "asset_ids": [line["id"]]})
    assert group.status_code == 201, group.text
    return {"site": site["id"], "month_kwh": _previous_month_kwh(readings)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    data_dir = tmp_path_factory.mktemp("reports-dashboard")
    with dashboard_server(data_dir, retention_raw_days="90") as dashboard:
        yield dashboard, _seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    blocked: list[str] = []
    opened.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    await context.close()
    assert not blocked, f"the dashboard's CSP blocked: {blocked}"


async def _log_in(page: Page, url: str, username: str) -> None:
    await log_in(page, url, username, "/reports")


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_create_preview_run_and_download_a_monthly_report(server, page, browser):
    dashboard, seeded = server
    await _log_in(page, dashboard.url, "admin")
    await expect(page.get_by_text("No reports yet.")).to_be_visible()
    await page.get_by_test_id("report-name").fill("Monthly energy")
    await page.get_by_test_id("report-create").click()
    # saved, then previewed: last month's consumption as the KPI service computes it
    await expect(page.get_by_test_id("preview-title")).to_contain_text("Site energy report")
    await expect(page.get_by_test_id("preview-title")).to_contain_text("Roma Società")
    energy = page.get_by_test_id("kpi-preview-energy_kwh-value")
    await expect(energy).to_have_text(f"{seeded['month_kwh']:,.1f} kWh", timeout=20_000)
    await expect(page.get_by_test_id("preview-chart-daily_trend").locator("canvas")).to_have_count(
        1
    )
    await expect(page.get_by_test_id("preview-table-top_consumers")).to_contain_text("Line 1")
    await _shot(page, "reports")
    # run it now: a run with its two files
    await page.get_by_role("button", name="Run now").click()
    rows = page.locator("[data-testid^=run-row-]")
    await expect(rows).to_have_count(1, timeout=30_000)
    await expect(rows.first).to_contain_text("done")
    async with page.expect_download() as waiting:
        await rows.first.get_by_role("button", name="PDF").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("site-energy-roma-societ")
    assert download.suggested_filename.endswith(".pdf")
    assert Path(await download.path()).read_bytes().startswith(b"%PDF-")
    await page.get_by_test_id("dark-toggle").click()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await _shot(page, "reports-dark")
    await page.get_by_test_id("dark-toggle").click()


async def test_the_page_fits_a_phone_and_hides_other_sites(server, browser, page):
    dashboard, _ = server
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = await context.new_page()
    try:
        await _log_in(phone, dashboard.url, "admin")
        await expect(phone.get_by_test_id("report-form")).to_be_visible()
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        await _shot(phone, "reports-phone")
    finally:
        await context.close()
    await _log_in(page, dashboard.url, "outsider")
    await expect(page.get_by_text("No reports yet.")).to_be_visible()
    await expect(page.get_by_test_id("report-form")).to_have_count(0)
    await expect(page.locator("[data-testid^=run-row-]")).to_have_count(0)


async def test_a_report_of_a_device_group(server, page):
    """The form offers the groups whose every site the user sees; the preview totals them."""
    dashboard, seeded = server
    await _log_in(page, dashboard.url, "admin")
    await page.get_by_test_id("report-name").fill("Lines monthly")
    await page.get_by_test_id("report-target").click()
    await page.get_by_role("option", name="Device group", exact=True).click()
    await expect(page.get_by_test_id("report-site")).to_be_hidden()
    await page.get_by_test_id("report-group").click()
    await page.get_by_role("option", name="Lines", exact=True).click()
    await page.get_by_test_id("report-create").click()
    title = page.get_by_test_id("preview-title")
    await expect(title).to_contain_text("group Lines (1 site)", timeout=20_000)
    energy = page.get_by_test_id("kpi-preview-energy_kwh-value")
    await expect(energy).to_have_text(f"{seeded['month_kwh']:,.1f} kWh", timeout=20_000)
    await expect(page.get_by_test_id("preview-table-sites")).to_contain_text("Roma Società")
    await expect(page.get_by_test_id("preview-table-members")).to_contain_text("Line 1")
    await _shot(page, "reports-group")
