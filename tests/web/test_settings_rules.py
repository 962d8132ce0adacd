"""Settings: alert rules (create with a preview, refuse with the reason, enable/disable, edit,
delete) in Debian's headless Chromium against ``gridpilot serve``; checked through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

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

MINUTE = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    with dashboard_server(tmp_path_factory.mktemp("rules")) as dashboard:
        ids = seed(dashboard)
        start = now_ms() - 2 * 3_600_000
        start -= start % MINUTE
        readings = [  # one 10-minute excursion to 1,500 kW an hour ago
            {
                "asset": ids["meter"],
                "metric": "power_kw",
                "ts": start + i * MINUTE,
                "value": 1500.0 if 60 <= i < 70 else 400.0,
            }
            for i in range(100)
        ]
        assert api(dashboard).post("/telemetry", json={"readings": readings}).status_code == 200
        yield dashboard, ids


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


def _rule(dashboard: Dashboard, name: str) -> dict | None:
    rules = api(dashboard).get("/alert-rules").json()
    return next((r for r in rules if r["name"] == name), None)


async def _choose(page: Page, test_id: str, option: str) -> None:
    await page.get_by_test_id(test_id).click()
    await page.get_by_role("option", name=option, exact=True).click()


async def test_an_operator_previews_creates_disables_and_deletes_a_rule(server, page):
    dashboard, _ids = server
    await log_in(page, dashboard.url, "operator", "/settings")
    await page.get_by_test_id("settings-alert-rules").get_by_role("link").click()
    await expect(page.get_by_test_id("rules-settings")).to_contain_text("Asset offline")  # built in
    await page.get_by_test_id("add-rule").click()
    await page.get_by_test_id("rule-name").fill("Meter above 1 MW")
    await _choose(page, "rule-asset_id", "Main meter (Settings plant)")
    await page.get_by_test_id("rule-save").click()  # no threshold: the API's reason, beside it
    field = page.locator(".q-field", has=page.get_by_test_id("param-threshold"))
    await expect(field).to_contain_text("Field required")
    await shot(page, "settings-rule-refused")
    assert _rule(dashboard, "Meter above 1 MW") is None

    await page.get_by_test_id("param-threshold").fill("1000")
    await page.get_by_test_id("param-duration_s").fill("300")
    await page.get_by_test_id("rule-preview").click()
    result = page.get_by_test_id("preview-result")
    await expect(result).to_contain_text("would have raised 1 alert on 1 asset")
    await expect(page.get_by_text("Main meter: Active power above 1,000 kW")).to_be_visible()
    await shot(page, "settings-rule-preview")
    await page.get_by_test_id("rule-save").click()
    await expect(page.get_by_test_id("rules-settings")).to_contain_text("Meter above 1 MW")
    rule = _rule(dashboard, "Meter above 1 MW")
    assert rule is not None
    assert rule["params"]["threshold"] == 1000.0 and rule["params"]["duration_s"] == 300.0
    assert (rule["kind"], rule["metric"], rule["enabled"]) == ("threshold", "power_kw", True)
    await shot(page, "settings-rules")

    row = page.get_by_test_id(f"rule-{rule['id']}")
    await row.get_by_test_id(f"rule-{rule['id']}-toggle_on").click()
    await expect(page.get_by_test_id(f"rule-{rule['id']}-badge")).to_have_text("disabled")
    assert _rule(dashboard, "Meter above 1 MW")["enabled"] is False

    await page.get_by_test_id(f"rule-{rule['id']}-edit").click()
    await _choose(page, "rule-severity", "critical")
    await page.get_by_test_id("rule-save").click()
    await expect(row).to_contain_text("critical")
    assert _rule(dashboard, "Meter above 1 MW")["severity"] == "critical"

    await page.get_by_test_id(f"rule-{rule['id']}-delete").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(row).to_have_count(0)
    assert api(dashboard).get(f"/alert-rules/{rule['id']}").status_code == 404


async def test_stale_rules_say_why_they_have_no_preview(server, page):
    dashboard, _ = server
    await log_in(page, dashboard.url, "admin", "/settings/alert-rules")
    await page.get_by_test_id("add-rule").click()
    await _choose(page, "rule-kind", "stale")
    await expect(page.get_by_test_id("param-factor")).to_be_visible()
    await page.get_by_test_id("rule-preview").click()
    await expect(page.get_by_test_id("preview-result")).to_contain_text("No preview for stale")


async def test_viewers_cannot_open_rules_and_the_page_fits_a_phone(server, page, browser):
    dashboard, _ = server
    await log_in(page, dashboard.url, "viewer", "/settings/alert-rules")
    await expect(page.get_by_text("managed by operators and administrators")).to_be_visible()
    await expect(page.get_by_test_id("add-rule")).to_have_count(0)
    async for phone in watched_page(browser, width=390):
        await log_in(phone, dashboard.url, "admin", "/settings/alert-rules")
        await expect(phone.get_by_test_id("rules-settings")).to_contain_text("Asset offline")
        await no_sideways_scroll(phone)
        await shot(phone, "settings-rules-phone")
        await phone.get_by_test_id("add-rule").click()
        await expect(phone.get_by_test_id("param-threshold")).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, "settings-rule-form-phone")
        await phone.get_by_role("button", name="Cancel").click()
        await dark(phone)
        await shot(phone, "settings-rules-phone-dark")
