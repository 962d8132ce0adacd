"""Settings: tariffs (what applies today, bands, charges, export price, versions; a new version
from a local date, a refused start in the past beside its field) in Debian's headless Chromium
against ``gridpilot serve``; results checked through the API.

Screenshots (light, dark, phone) land in ``test-output/screenshots/settings-tariff*``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import (
    api,
    dark,
    log_in,
    no_sideways_scroll,
    seed,
    settled,
    shot,
    watched_page,
)

from gridpilot.core.timestamps import now_ms
from gridpilot.sim.demo_tariffs import italian_tou

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

ROME = ZoneInfo("Europe/Rome")
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    """The plant: its own site tariff, then a version (with an export price) since 30 days."""
    with dashboard_server(tmp_path_factory.mktemp("tariffs")) as dashboard:
        ids = seed(dashboard)
        http = api(dashboard)
        old = italian_tou(0.2, 0.19, 0.15, name="Old contract")
        assert http.patch(f"/sites/{ids['plant']}", json={"tariff": old}).status_code == 200
        now = {
            **italian_tou(0.238, 0.226, 0.189, name="MV 2026", demand_charge_per_kw_month=3.2),
            "export_rate_per_kwh": 0.11,
        }
        body = {"valid_from": now_ms() - 30 * DAY_MS, "definition": now, "backdate": True}
        made = http.post(f"/sites/{ids['plant']}/tariffs", json=body)
        assert made.status_code == 201, made.text
        yield dashboard, ids


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


def _versions(dashboard: Dashboard, site_id: int) -> list[dict]:
    return api(dashboard).get(f"/sites/{site_id}/tariffs").json()


def _rome_midnight_ms(day: date) -> int:
    return int(datetime.combine(day, time(0), ROME).timestamp() * 1000)


async def test_an_operator_sees_todays_tariff_and_adds_a_version(server, page):
    dashboard, ids = server
    plant = ids["plant"]
    await log_in(page, dashboard.url, "operator", "/settings")
    await page.get_by_test_id("settings-tariffs").get_by_role("link").click()
    today = page.get_by_test_id(f"tariff-today-{plant}")
    await expect(today).to_contain_text("Applies today: MV 2026, from ")
    await expect(today).to_contain_text("CET")  # a local time with its zone
    details = page.get_by_test_id(f"tariff-details-{plant}")
    await expect(details).to_contain_text("F1 · Mon-Fri, 08:00-19:00")
    await expect(details).to_contain_text("0.238 EUR/kWh")
    await expect(details).to_contain_text("Demand charge on each month's peak3.20 EUR/kW")
    await expect(details).to_contain_text("Export earns0.110 EUR/kWh")
    await expect(page.get_by_test_id(f"tariff-site-{ids['doomed']}")).to_contain_text(
        "No tariff applies today"
    )
    await page.get_by_test_id(f"tariff-history-{plant}").click()
    oldest = page.get_by_test_id(f"tariff-version-{plant}-0")
    await expect(oldest).to_contain_text("0.200 EUR/kWh")
    await expect(oldest).to_contain_text("Fixed chargenone")
    await expect(oldest).to_contain_text("Export earnsnot set")
    await expect(oldest).to_be_visible()
    await settled(page)
    await shot(page, "settings-tariffs")

    await page.get_by_test_id(f"new-version-{plant}").click()
    yesterday = datetime.now(ROME).date() - timedelta(days=1)
    await page.get_by_test_id("tariff-valid_from").fill(yesterday.isoformat())
    await page.get_by_test_id("tariff-save").click()  # closed periods stay: refused, beside it
    field = page.locator(".q-field", has=page.get_by_test_id("tariff-valid_from"))
    await expect(field).to_contain_text("This date lies in the past")  # the form's words
    await expect(field).to_contain_text("tick \u201cCorrect a closed period\u201d")
    said = await field.inner_text()
    assert not any(api_word in said for api_word in ("backdate", "true", "valid_from")), said
    await field.scroll_into_view_if_needed()
    await shot(page, "settings-tariff-refused")
    assert len(_versions(dashboard, plant)) == 1
    await page.get_by_test_id("tariff-correct-past").click()  # on purpose: accepted
    await page.get_by_test_id("tariff-save").click()
    await expect(page.get_by_test_id(f"tariff-history-{plant}")).to_contain_text("All versions (3)")
    corrected = _versions(dashboard, plant)
    assert len(corrected) == 2
    assert datetime.fromisoformat(corrected[-1]["valid_from"]).timestamp() * 1000 == (
        _rome_midnight_ms(yesterday)
    )

    await page.get_by_test_id(f"new-version-{plant}").click()

    tomorrow = datetime.now(ROME).date() + timedelta(days=1)
    await page.get_by_test_id("tariff-valid_from").fill(tomorrow.isoformat())
    await page.get_by_test_id("period-0-start").fill("25:00")
    await page.get_by_test_id("tariff-save").click()
    band = page.locator(".q-field", has=page.get_by_test_id("period-0-start"))
    await expect(band).to_contain_text("local clock time 'HH:MM'")
    await shot(page, "settings-tariff-band-refused")
    await page.get_by_test_id("period-0-start").fill("08:00")
    await page.get_by_test_id("period-0-rate_per_kwh").fill("0.25")
    await page.get_by_test_id("tariff-name").fill("MV 2027")
    await page.get_by_test_id("tariff-export_rate_per_kwh").fill("0.125")
    await page.get_by_test_id("tariff-save").click()
    await expect(page.get_by_test_id(f"tariff-history-{plant}")).to_contain_text("All versions (4)")

    versions = _versions(dashboard, plant)
    assert len(versions) == 3
    added = versions[-1]["definition"]
    assert datetime.fromisoformat(versions[-1]["valid_from"]).timestamp() * 1000 == (
        _rome_midnight_ms(tomorrow)
    )
    assert added["name"] == "MV 2027" and added["export_rate_per_kwh"] == 0.125
    assert added["periods"][0] == {
        "name": "F1", "days": "weekday", "start": "08:00", "end": "19:00", "rate_per_kwh": 0.25,
    }  # fmt: skip
    assert [p["rate_per_kwh"] for p in added["periods"][1:]] == [0.226, 0.226, 0.189]
    assert added["demand_charge_per_kw_month"] == 3.2
    await page.get_by_test_id(f"tariff-history-{plant}").click()
    await expect(page.get_by_test_id(f"tariff-version-{plant}-3")).to_be_visible()
    await expect(page.get_by_test_id(f"tariff-history-{plant}")).to_contain_text("upcoming")
    await expect(page.get_by_test_id(f"tariff-history-{plant}")).to_contain_text("by operator")
    await settled(page)
    await shot(page, "settings-tariffs-versions")


async def test_viewers_read_tariffs_without_buttons_and_the_server_refuses(server, page, browser):
    dashboard, ids = server
    await log_in(page, dashboard.url, "viewer", "/settings/tariffs")
    await expect(page.get_by_test_id(f"tariff-today-{ids['plant']}")).to_contain_text("Applies")
    await expect(page.get_by_test_id("read-only")).to_be_visible()
    await expect(page.get_by_test_id(f"new-version-{ids['plant']}")).to_have_count(0)
    body = {"valid_from": now_ms() + DAY_MS, "definition": {"default_rate_per_kwh": 0.1}}
    refused = api(dashboard, "viewer").post(f"/sites/{ids['plant']}/tariffs", json=body)
    assert refused.status_code == 403
    async for phone in watched_page(browser, width=390):
        await log_in(phone, dashboard.url, "admin", "/settings/tariffs")
        await expect(phone.get_by_test_id(f"tariff-details-{ids['plant']}")).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, "settings-tariffs-phone")
        await phone.get_by_test_id(f"new-version-{ids['plant']}").click()
        await expect(phone.get_by_test_id("period-0-rate_per_kwh")).to_be_visible()
        await settled(phone)
        await no_sideways_scroll(phone)
        await shot(phone, "settings-tariff-form-phone")
        await phone.get_by_role("button", name="Cancel").click()
        await dark(phone)
        await expect(phone.get_by_test_id(f"tariff-details-{ids['plant']}")).to_be_visible()
        await settled(phone)
        await shot(phone, "settings-tariffs-phone-dark")
