"""Settings: notification channels (a webhook refused by the SSRF guard with its reason beside
the URL, created, tested through the notifier to a local receiver, its delivery log; an e-mail
channel whose test fails without SMTP) in Debian's headless Chromium against ``gridpilot
serve``; results checked through the API and the receiver.

Screenshots (light, dark, phone) land in ``test-output/screenshots/settings-channel*``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

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

RECEIVED: list[dict] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        size = int(self.headers.get("content-length", 0))
        RECEIVED.append(json.loads(self.rfile.read(size)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("channels")
    with dashboard_server(folder, webhook_allow_private="true") as dashboard:
        yield dashboard, seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


def _channel(dashboard: Dashboard, name: str) -> dict | None:
    found = api(dashboard).get("/notification-channels").json()
    return next((c for c in found if c["name"] == name), None)


async def _choose(page: Page, test_id: str, option: str) -> None:
    await page.get_by_test_id(test_id).click()
    await page.get_by_role("option", name=option, exact=True).click()


async def test_an_operator_creates_and_tests_a_webhook(server, page, receiver):
    dashboard, _ids = server
    await log_in(page, dashboard.url, "operator", "/settings")
    await page.get_by_test_id("settings-channels").get_by_role("link").click()
    await page.get_by_test_id("add-channel").click()
    await page.get_by_test_id("channel-name").fill("Ops webhook")
    await _choose(page, "channel-kind", "webhook")
    await page.get_by_test_id("channel-url").fill(receiver.replace("://", "://ops:pw@"))
    await page.get_by_test_id("channel-save").click()  # the SSRF guard's reason, beside the URL
    field = page.locator(".q-field", has=page.get_by_test_id("channel-url"))
    await expect(field).to_contain_text("must not contain user info")
    await settled(page)
    await shot(page, "settings-channel-refused")
    assert _channel(dashboard, "Ops webhook") is None

    await page.get_by_test_id("channel-url").fill(receiver)
    await page.get_by_test_id("channel-save").click()
    await expect(page.get_by_test_id("secret")).to_contain_text("whsec_")
    await page.get_by_role("button", name="Done").click()
    made = _channel(dashboard, "Ops webhook")
    assert made is not None and made["url"] == receiver and made["kind"] == "webhook"
    row = page.get_by_test_id(f"channel-{made['id']}")
    await expect(row).to_contain_text("warning and worse · raised, resolved · all sites")
    await shot(page, "settings-channels")

    await row.get_by_test_id(f"channel-{made['id']}-send").click()
    await expect(page.get_by_test_id("outcome")).to_have_text("Test: Delivered", timeout=30_000)
    assert [m["type"] for m in RECEIVED] == ["alert.test"]
    log = page.get_by_test_id("delivery-log")
    await expect(log).to_contain_text("delivered")
    await expect(log).to_contain_text("alert.test")
    await expect(log).to_contain_text("1 attempt")
    await expect(log).to_contain_text("UTC")  # a global channel: times in UTC, with the zone
    await settled(page)
    await shot(page, "settings-channel-test")
    deliveries = api(dashboard).get(f"/notification-channels/{made['id']}/deliveries").json()
    assert [(d["state"], d["attempts"]) for d in deliveries] == [("delivered", 1)]


async def test_an_email_channel_refuses_a_bad_address_and_its_test_says_why_it_failed(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "admin", "/settings/channels")
    await page.get_by_test_id("add-channel").click()
    await page.get_by_test_id("channel-name").fill("Plant e-mail")
    await page.get_by_test_id("channel-recipients").fill("ops@example.org, not-an-address")
    await _choose(page, "channel-site_id", "Settings plant")
    await page.get_by_test_id("channel-save").click()
    field = page.locator(".q-field", has=page.get_by_test_id("channel-recipients"))
    await expect(field).to_contain_text("'not-an-address' is not an e-mail address")
    await page.get_by_test_id("channel-recipients").fill("ops@example.org, chief@example.org")
    await page.get_by_test_id("channel-save").click()
    await expect(page.get_by_test_id("channels-settings")).to_contain_text("Plant e-mail")
    made = _channel(dashboard, "Plant e-mail")
    assert made is not None
    assert made["recipients"] == ["ops@example.org", "chief@example.org"]
    assert made["site_id"] == ids["plant"]
    await page.get_by_test_id(f"channel-{made['id']}-send").click()
    await expect(page.get_by_test_id("outcome")).to_contain_text(
        "SMTP is not configured", timeout=30_000
    )
    await expect(page.get_by_test_id("delivery-log")).to_contain_text("CET")  # the site's zone
    await page.get_by_role("button", name="Close").click()
    # edited from the page: a refused address beside its field, then saved as PATCH saves it
    await page.get_by_test_id(f"channel-{made['id']}-edit").click()
    await expect(page.get_by_test_id("channel-name")).to_have_value("Plant e-mail")
    kind = page.get_by_test_id("channel-kind")
    await expect(page.locator(".q-field--disabled", has=kind)).to_have_count(1)  # as PATCH
    await page.get_by_test_id("channel-recipients").fill("not-an-address, ops@example.org")
    await page.get_by_test_id("channel-save").click()
    field = page.locator(".q-field", has=page.get_by_test_id("channel-recipients"))
    await expect(field).to_contain_text("'not-an-address' is not an e-mail address")
    await page.get_by_test_id("channel-recipients").fill("night@example.org")
    await page.get_by_test_id("channel-name").fill("Plant night shift")
    await page.get_by_test_id("channel-enabled").click()  # off
    await page.get_by_test_id("channel-save").click()
    row = page.get_by_test_id(f"channel-{made['id']}")
    await expect(row).to_contain_text("Plant night shift")
    await expect(row).to_contain_text("night@example.org")
    edited = api(dashboard).get(f"/notification-channels/{made['id']}").json()
    assert edited["name"] == "Plant night shift"
    assert edited["recipients"] == ["night@example.org"] and edited["enabled"] is False
    assert edited["site_id"] == ids["plant"]
    await page.get_by_test_id(f"channel-{made['id']}-delete").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id(f"channel-{made['id']}")).to_have_count(0)
    assert api(dashboard).get(f"/notification-channels/{made['id']}").status_code == 404


async def test_viewers_cannot_open_channels_and_the_page_fits_a_phone(server, page, browser):
    dashboard, _ = server
    await log_in(page, dashboard.url, "viewer", "/settings/channels")
    await expect(page.get_by_text("managed by operators and administrators")).to_be_visible()
    await expect(page.get_by_test_id("add-channel")).to_have_count(0)
    body = {"name": "Sneaky", "kind": "email", "recipients": ["a@example.org"]}
    assert api(dashboard, "viewer").post("/notification-channels", json=body).status_code == 403
    async for phone in watched_page(browser, width=390):
        await log_in(phone, dashboard.url, "admin", "/settings/channels")
        await expect(phone.get_by_test_id("add-channel")).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, "settings-channels-phone")
        await phone.get_by_test_id("add-channel").click()
        await expect(phone.get_by_test_id("channel-recipients")).to_be_visible()
        await settled(phone)
        await no_sideways_scroll(phone)
        await shot(phone, "settings-channel-form-phone")
        await phone.get_by_role("button", name="Cancel").click()
        await dark(phone)
        await settled(phone)
        await shot(phone, "settings-channels-phone-dark")
