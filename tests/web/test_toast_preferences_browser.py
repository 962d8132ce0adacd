"""The dashboard's alert toasts follow each user's in-app notification preferences (#22 item 5),
in Debian's headless Chromium against `gridpilot serve`: two operators watch the alerts page;
one lets only critical alerts reach them in the app. A warning alert toasts for the other one
only; a critical alert then toasts for both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import log_in

from gridpilot.core.timestamps import now_ms

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

PREFERENCES = "/api/v1/me/notification-preferences"
#: Keeps the text of every toast the page shows (they fade after a few seconds).
RECORD_TOASTS = """
window.__toasts = [];
new MutationObserver(() => {
  for (const n of document.querySelectorAll('.q-notification')) {
    if (!window.__toasts.includes(n.innerText)) window.__toasts.push(n.innerText);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _seed(server: Dashboard) -> dict:
    """A meter with a warning rule above 100 kW and a critical rule above 1,000 kW; two
    operators, "quiet" of whom wants only critical alerts in the app."""
    for name in ("admin", "busy", "quiet"):
        server.add_user(name, "administrator" if name == "admin" else "operator")
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.token("admin"), timeout=60)
    site = api.post("/sites", json={"name": "Toast works", "timezone": "UTC"}).json()
    meter = api.post(
        "/assets", json={"site_id": site["id"], "name": "Main meter", "kind": "meter"}
    ).json()
    for severity, threshold in (("warning", 100), ("critical", 1000)):
        rule = api.post("/alert-rules", json={
            "name": f"Meter {severity}", "kind": "threshold", "metric": "power_kw",
            "asset_id": meter["id"], "severity": severity,
            "params": {"operator": "above", "threshold": threshold}})  # fmt: skip
        assert rule.status_code == 201, rule.text
    saved = httpx.put(
        f"{server.url}{PREFERENCES}",
        json={"in_app": {"severities": ["critical"]}},
        headers=server.token("quiet"),
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["in_app"]["severities"] == ["critical"]
    return {"api": api, "meter": meter["id"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("toast-preferences")) as dashboard:
        yield dashboard, _seed(dashboard)


@pytest.fixture
async def pages(browser: Browser) -> AsyncIterator[tuple[Page, Page]]:
    contexts = [await browser.new_context(viewport={"width": 1280, "height": 900}) for _ in "ab"]
    for context in contexts:
        await context.add_init_script(RECORD_TOASTS)
    opened = (await contexts[0].new_page(), await contexts[1].new_page())
    yield opened
    for context in contexts:
        await context.close()


def _reading(api: httpx.Client, meter: int, kw: float) -> None:
    reading = {"asset": meter, "metric": "power_kw", "ts": now_ms(), "value": kw}
    stored = api.post("/telemetry", json={"readings": [reading]})
    assert stored.status_code == 200, stored.text


async def test_a_users_in_app_severities_decide_their_toasts(server, pages):
    dashboard, seeded = server
    busy, quiet = pages
    await log_in(busy, dashboard.url, "busy", "/alerts")
    await log_in(quiet, dashboard.url, "quiet", "/alerts")
    for page in pages:
        await expect(page.get_by_test_id("alert-list")).to_be_visible()

    _reading(seeded["api"], seeded["meter"], 500.0)  # the warning rule only
    warning = "New alert: Main meter: Active power above 100 kW"
    await expect(busy.get_by_text(warning)).to_be_visible(timeout=30_000)
    raised = seeded["api"].get("/alerts").json()
    assert [a["severity"] for a in raised] == ["warning"]

    _reading(seeded["api"], seeded["meter"], 1500.0)  # now the critical rule too
    critical = "New alert: Main meter: Active power above 1,000 kW"
    await expect(quiet.get_by_text(critical)).to_be_visible(timeout=30_000)
    await expect(busy.get_by_text(critical)).to_be_visible(timeout=30_000)
    # the warning reached "quiet"'s page before the critical one did: it was never shown there
    shown = {name: await page.evaluate("window.__toasts") for name, page in zip(
        ("busy", "quiet"), pages, strict=True)}  # fmt: skip
    assert any(warning in t for t in shown["busy"]), shown
    assert not any(warning in t for t in shown["quiet"]), shown
    assert any(critical in t for t in shown["quiet"]), shown
