"""The installable dashboard and the notification preferences page, in Debian's headless Chromium
against ``gridpilot serve``: the manifest is linked and valid (Chromium's own parser and
installability check), the service worker registers from the app's origin under the strict CSP,
going offline shows the banner over the page's last data, coming back hides it; a reload while
offline shows the kept copy of the page. The preferences page saves what the API then answers.

Screenshots land in ``test-output/screenshots/pwa-*`` and ``notifications-*``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
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

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

WAIT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    with dashboard_server(tmp_path_factory.mktemp("pwa")) as dashboard:
        yield dashboard, seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


def test_manifest_and_worker_are_served_under_the_dashboard_policy(server):
    dashboard, _ = server
    manifest = httpx.get(f"{dashboard.url}/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["start_url"], body["display"], body["scope"]) == ("/", "standalone", "/")
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    for icon in body["icons"]:
        png = httpx.get(f"{dashboard.url}{icon['src']}")
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png.content[16:20], "big")  # the IHDR chunk
        assert f"{width}x{width}" == icon["sizes"]
    worker = httpx.get(f"{dashboard.url}/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    policy = worker.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "*" not in policy  # no third party, no wildcard


async def test_installable_and_offline_banner_comes_and_goes(server, browser):
    dashboard, _ = server
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    csp: list[str] = []
    page.on(
        "console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None
    )
    await log_in(page, dashboard.url, "operator", "/")
    assert await page.get_attribute("link[rel=manifest]", "href") == "/manifest.webmanifest"
    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{dashboard.url}/"
    cdp = await context.new_cdp_session(page)
    parsed = await cdp.send("Page.getAppManifest")
    assert parsed["url"] == f"{dashboard.url}/manifest.webmanifest"
    assert parsed["errors"] == []
    installable = await cdp.send("Page.getInstallabilityErrors")
    # a Playwright context is a private window: Chromium installs nothing there, the one
    # error left (no missing icon, no manifest field, no worker lacking)
    assert [e["errorId"] for e in installable["installabilityErrors"]] == ["in-incognito"]
    await page.reload()  # now under the worker's control: this copy of the page is kept
    await page.wait_for_function("navigator.serviceWorker.controller !== null")
    banner = page.get_by_test_id("offline-banner")
    await expect(banner).to_have_count(0)
    site_name = page.get_by_text("1,234 kW").first  # the meter's reading, now
    await expect(site_name).to_be_visible()

    await context.set_offline(True)
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    await expect(banner).to_contain_text("Offline: the server cannot be reached")
    await expect(site_name).to_be_visible()  # the last data stays on screen
    await shot(page, "pwa-offline")
    await context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await shot(page, "pwa-back-online")

    await context.set_offline(True)
    await page.reload()  # the server cannot be reached: the kept copy, with the banner
    await expect(page.get_by_test_id("offline-banner")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_text("1,234 kW").first).to_be_visible()
    await shot(page, "pwa-offline-reload")
    await context.set_offline(False)
    await expect(page.get_by_test_id("offline-banner")).to_be_hidden(timeout=WAIT_MS)
    await context.close()
    assert csp == []


async def _pick(page: Page, test_id: str, options: list[str]) -> None:
    """Set a multiple select to exactly ``options``."""
    field = page.get_by_test_id(test_id)
    await field.click()
    menu = page.locator(".q-menu")
    await expect(menu.get_by_role("option").first).to_be_visible()
    await settled(page)  # the menu scales in: a click meanwhile can land beside its option
    for item in await menu.get_by_role("option").all():
        name = (await item.inner_text()).strip()
        selected = await item.get_attribute("aria-selected") == "true"
        if selected != (name in options):
            await item.click()
            # the server's answer flips it: the next read must not see the old state
            wanted = "false" if selected else "true"
            await expect(item).to_have_attribute("aria-selected", wanted)
    await page.keyboard.press("Escape")


async def test_a_viewer_sets_preferences_on_the_settings_page(server, page):
    dashboard, _ = server
    await log_in(page, dashboard.url, "viewer", "/settings")
    await page.get_by_test_id("settings-notifications").get_by_role("link").click()
    await expect(page.get_by_test_id("prefs-state")).to_have_text(
        "Defaults: everything reaches you"
    )
    await _pick(page, "prefs-email-severities", ["critical"])
    await page.get_by_test_id("prefs-quiet").click()
    await page.get_by_test_id("prefs-quiet_hours-time_zone").fill("Mars/Olympus")
    await page.get_by_test_id("prefs-save").click()
    await expect(page.get_by_text("unknown IANA time zone 'Mars/Olympus'").first).to_be_visible()
    await page.get_by_test_id("prefs-quiet_hours-time_zone").fill("Europe/Rome")
    await page.get_by_test_id("prefs-save").click()
    await expect(page.get_by_test_id("prefs-state")).to_have_text("Your own preferences")
    saved = api(dashboard, "viewer").get("/me/notification-preferences").json()
    assert saved["email"]["severities"] == ["critical"]
    assert saved["quiet_hours"] == {
        "start": "22:00",
        "end": "07:00",
        "time_zone": "Europe/Rome",
        "during": "hold",
        "critical_override": True,
    }
    await shot(page, "notifications-light")
    await dark(page)
    await expect(page.get_by_test_id("prefs-state")).to_have_text("Your own preferences")
    await shot(page, "notifications-dark")


async def test_the_preferences_page_and_the_banner_fit_a_phone(server, browser):
    dashboard, _ = server
    async for phone in watched_page(browser, width=390):
        await log_in(phone, dashboard.url, "viewer", "/settings/notifications")
        await expect(phone.get_by_test_id("prefs-save")).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, "notifications-phone")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = await context.new_page()
    await log_in(phone, dashboard.url, "viewer", "/")
    await expect(phone.get_by_text("1,234 kW").first).to_be_visible(timeout=WAIT_MS)
    await context.set_offline(True)
    banner = phone.get_by_test_id("offline-banner")
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    header = await phone.locator(".q-header").bounding_box()
    below = await banner.bounding_box()
    assert header and below and header["y"] >= below["y"] + below["height"] - 1  # not covered
    await no_sideways_scroll(phone)
    await shot(phone, "pwa-offline-phone")
    await context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await context.close()


async def test_the_banner_writes_its_time_on_the_24_hour_clock(server, browser):
    """In American English Chromium writes a time ``02:05 PM``; the banner writes the time of
    the last data as every page writes times, ``14:05 EST`` (the date first once it is not
    today any more), in the browser's zone."""
    dashboard, _ = server
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-US", timezone_id="America/New_York"
    )
    page = await context.new_page()
    await log_in(page, dashboard.url, "viewer", "/")
    await expect(page.get_by_text("1,234 kW").first).to_be_visible(timeout=WAIT_MS)
    afternoon = datetime(2026, 12, 4, 14, 5, tzinfo=ZoneInfo("America/New_York"))
    await page.clock.set_fixed_time(afternoon)
    await page.reload()  # the last contact now falls at 14:05 New York time
    await expect(page.get_by_text("1,234 kW").first).to_be_visible(timeout=WAIT_MS)
    await page.wait_for_function("navigator.serviceWorker.controller !== null")
    await context.set_offline(True)
    banner = page.get_by_test_id("offline-banner")
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    await expect(banner).to_contain_text("Showing the last data, from 14:05 EST.")
    assert not re.search(r"\b(AM|PM)\b", await banner.inner_text())
    await shot(page, "pwa-offline-24h")
    await context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    # the next morning, the kept copy of yesterday afternoon says which day it is from
    await page.evaluate("window.dispatchEvent(new Event('beforeunload'))")  # keep the copy
    await page.clock.set_fixed_time(afternoon + timedelta(hours=20))
    await context.set_offline(True)
    await page.reload()
    banner = page.get_by_test_id("offline-banner")
    await expect(banner).to_contain_text("from 2026-12-04 14:05 EST", timeout=WAIT_MS)
    await context.set_offline(False)
    await context.close()
