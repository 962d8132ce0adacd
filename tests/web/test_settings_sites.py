"""Settings: sites and assets (list, edit, delete), an asset's metrics and device keys, in
Debian's headless Chromium against ``gridpilot serve``; results checked through the API.

Screenshots (light, dark, phone) land in ``test-output/screenshots/settings-*``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import (
    api,
    dark,
    log_in,
    no_sideways_scroll,
    seed,
    shot,
    watched_page,
)

from gridpilot.core.timestamps import now_ms

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    with dashboard_server(tmp_path_factory.mktemp("settings")) as dashboard:
        yield dashboard, seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser, width=390):
        yield opened


async def test_an_administrator_edits_a_site_and_sees_the_reason_of_a_refusal(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", "/settings")
    await page.get_by_test_id("settings-sites").get_by_role("link").click()
    row = page.get_by_test_id(f"site-{ids['plant']}")
    await expect(row).to_contain_text("Europe/Rome")
    await expect(row).to_contain_text("1 asset")
    await shot(page, "settings-sites")
    await row.get_by_test_id(f"site-{ids['plant']}-edit").click()
    await page.get_by_test_id("site-timezone").fill("Mars/Olympus")
    await page.get_by_test_id("site-contract_demand_kw").fill("750")
    await page.get_by_test_id("site-save").click()
    # the API's reason, beside the field it belongs to (not a traceback)
    field = page.locator(".q-field", has=page.get_by_test_id("site-timezone"))
    await expect(field).to_contain_text("unknown IANA time zone 'Mars/Olympus'")
    await shot(page, "settings-site-refused")
    assert api(dashboard).get(f"/sites/{ids['plant']}").json()["timezone"] == "Europe/Rome"
    await page.get_by_test_id("site-timezone").fill("Europe/Berlin")
    await page.get_by_test_id("site-save").click()
    await expect(row).to_contain_text("contract 750.0 kW")
    site = api(dashboard).get(f"/sites/{ids['plant']}").json()
    assert (site["timezone"], site["contract_demand_kw"]) == ("Europe/Berlin", 750.0)


async def test_deleting_a_site_names_what_goes_with_it(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", "/settings/sites")
    row = page.get_by_test_id(f"site-{ids['doomed']}")
    await row.get_by_test_id(f"site-{ids['doomed']}-delete").click()
    text = page.get_by_test_id("confirm-text")
    await expect(text).to_contain_text("its 2 assets (Depot meter, Depot PV)")
    await expect(text).to_contain_text("every reading they stored")
    await shot(page, "settings-site-delete")
    await page.get_by_test_id("confirm-cancel").click()
    assert api(dashboard).get(f"/sites/{ids['doomed']}").status_code == 200
    await row.get_by_test_id(f"site-{ids['doomed']}-delete").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(row).to_have_count(0)
    assert api(dashboard).get(f"/sites/{ids['doomed']}").status_code == 404
    assets = api(dashboard).get("/assets", params={"site_id": ids["doomed"]}).json()
    assert assets == []


async def test_assets_are_created_edited_and_deleted(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", f"/settings/sites/{ids['plant']}")
    await page.get_by_test_id("add-asset").click()
    await page.get_by_test_id("asset-name").fill("Roof PV")
    await page.get_by_test_id("asset-kind").click()
    await page.get_by_role("option", name="solar_pv", exact=True).click()
    await page.get_by_test_id("asset-rated_capacity_kw").fill("60")
    await page.get_by_test_id("asset-source_id").fill("PV-1")
    await page.get_by_test_id("asset-save").click()
    field = page.locator(".q-field", has=page.get_by_test_id("asset-source_id"))
    await expect(field).to_contain_text("does not match TYPE-XXX-NNNNN")
    await page.get_by_test_id("asset-source_id").fill("SOLAR-PV-ITA-00042")
    await page.get_by_test_id("asset-save").click()
    listing = page.get_by_test_id("assets-settings")
    await expect(listing).to_contain_text("Roof PV")
    await expect(listing).to_contain_text("60.0 kW rated · SOLAR-PV-ITA-00042")
    [pv] = [a for a in _assets(dashboard, ids["plant"]) if a["name"] == "Roof PV"]
    assert (pv["kind"], pv["role"], pv["rated_capacity_kw"]) == ("solar_pv", "producer", 60.0)
    await shot(page, "settings-assets")

    await page.get_by_test_id(f"asset-{pv['id']}-edit").click()
    await page.get_by_test_id("asset-rated_capacity_kw").fill("75.5")
    await page.get_by_test_id("asset-save").click()
    await expect(listing).to_contain_text("75.5 kW rated")
    assert api(dashboard).get(f"/assets/{pv['id']}").json()["rated_capacity_kw"] == 75.5

    await page.get_by_test_id(f"asset-{pv['id']}-delete").click()
    await expect(page.get_by_test_id("confirm-text")).to_contain_text("no device keys")
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id(f"asset-{pv['id']}")).to_have_count(0)
    assert api(dashboard).get(f"/assets/{pv['id']}").status_code == 404


def _assets(dashboard: Dashboard, site_id: int) -> list[dict]:
    return api(dashboard).get("/assets", params={"site_id": site_id}).json()


async def test_a_device_key_is_shown_once_works_and_is_revoked(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", f"/settings/assets/{ids['meter']}")
    metric = page.get_by_test_id("metric-power_kw")
    await expect(metric).to_contain_text("Active power")
    await expect(metric).to_contain_text("1,234 kW at ")  # unit, and the site's local time
    await page.get_by_test_id("device-key-name").fill("meter gateway")
    await page.get_by_test_id("create-device-key").click()
    shown = page.get_by_test_id("new-device-key")
    await expect(shown).to_contain_text("gpk_")
    raw = (await shown.inner_text()).strip().split()[0]
    await shot(page, "settings-device-key")
    reading = {"asset": ids["meter"], "metric": "power_kw", "ts": now_ms(), "value": 10.0}
    sent = httpx.post(
        f"{dashboard.url}/api/v1/telemetry",
        json={"readings": [reading]},
        headers={"X-API-Key": raw},
    )
    assert sent.status_code == 200, sent.text
    await page.get_by_test_id("key-done").click()
    key_id = raw.split("_")[1]
    row = page.get_by_test_id(f"key-{key_id}")
    await expect(row).to_contain_text("meter gateway")
    await expect(page.get_by_test_id("device-keys")).not_to_contain_text(raw)  # never again
    await row.get_by_test_id(f"key-{key_id}-block").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id(f"key-{key_id}-badge")).to_have_text("revoked")
    listed = api(dashboard).get(f"/assets/{ids['meter']}/keys").json()
    assert [k["revoked_at"] is not None for k in listed if k["key_id"] == key_id] == [True]
    refused = httpx.post(
        f"{dashboard.url}/api/v1/telemetry",
        json={"readings": [reading]},
        headers={"X-API-Key": raw},
    )
    assert refused.status_code == 401


async def test_a_viewer_sees_no_buttons_and_a_demoted_operator_is_refused(server, page, browser):
    dashboard, ids = server
    await log_in(page, dashboard.url, "viewer", "/settings/sites")
    await expect(page.get_by_test_id(f"site-{ids['plant']}")).to_be_visible()
    await expect(page.get_by_test_id("add-site")).to_have_count(0)
    await expect(page.get_by_test_id(f"site-{ids['plant']}-edit")).to_have_count(0)
    await page.goto(f"{dashboard.url}/settings/assets/{ids['meter']}")
    await expect(page.get_by_test_id("metric-power_kw")).to_be_visible()
    await expect(page.get_by_test_id("device-keys")).to_have_count(0)

    async for operator in watched_page(browser):
        await log_in(operator, dashboard.url, "operator", "/settings/sites")
        await operator.get_by_test_id(f"site-{ids['plant']}-edit").click()
        await operator.get_by_test_id("site-contract_demand_kw").fill("1")
        users = api(dashboard).get("/users").json()
        [who] = [u for u in users if u["username"] == "operator"]
        demoted = api(dashboard).patch(f"/users/{who['id']}", json={"role": "viewer"})
        assert demoted.status_code == 200, demoted.text
        await operator.get_by_test_id("site-save").click()
        # demoting ends the session (its tokens are revoked): nothing is saved, log in again
        await expect(operator.get_by_test_id("username")).to_be_visible()
        assert api(dashboard).get(f"/sites/{ids['plant']}").json()["contract_demand_kw"] != 1


async def test_the_pages_in_dark_mode_and_on_a_phone(server, page, phone):
    dashboard, ids = server
    await log_in(phone, dashboard.url, "admin", "/settings")
    for path, name in (
        ("/settings/sites", "sites"),
        (f"/settings/sites/{ids['plant']}", "assets"),
        (f"/settings/assets/{ids['meter']}", "asset"),
    ):
        await phone.goto(f"{dashboard.url}{path}")
        await expect(phone.locator(".nicegui-content .q-item").first).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, f"settings-{name}-phone")
    await log_in(page, dashboard.url, "admin", "/settings/sites")
    await dark(page)
    await shot(page, "settings-sites-dark")
    await page.goto(f"{dashboard.url}/settings/assets/{ids['meter']}")
    await expect(page.get_by_test_id("metric-power_kw")).to_be_visible()
    await shot(page, "settings-asset-dark")
