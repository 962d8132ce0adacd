"""The firmware page in Debian's headless Chromium against `gridpilot serve`: an image and a
roll-out to 8 EV chargers made through the API, devices reporting through the report API until
a failure burst in wave 1 pauses it. The page's counts per wave equal the API's devices; an
operator resumes and pauses from the page and the API follows, each change heard by a WebSocket
client of ``/api/v1/live``; a resume through the API reaches the open page by its event; the
detail follows a device's report (by its event: the safety reload is 30 s away) and lists each
device's state and last report at the site's local time; a viewer sees no button. Light, dark and a
390 px phone, no console error or CSP violation. Screenshots in ``test-output/screenshots/``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.live.wsclient import authenticated, bearer, recv_until, subscribe
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import log_in

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

SCREENSHOTS = Path("test-output/screenshots")
SHA = "ab" * 32
STATES = ("pending", "offered", "downloading", "installed", "verified", "failed")


def _seed(server: Dashboard) -> dict:
    server.add_user("admin", "administrator")
    server.add_user("operator", "operator")
    server.add_user("viewer", "viewer")
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.token("admin"), timeout=60)
    site = api.post("/sites", json={"name": "Wien", "timezone": "Europe/Vienna"}).json()
    ids = []
    for n in range(8):
        body = {"site_id": site["id"], "name": f"Charger {n + 1}", "kind": "ev_charger"}
        made = api.post("/assets", json={**body, "rated_capacity_kw": 22})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    fits = {"version": "1.4.2", "kinds": ["ev_charger"], "sha256": SHA}
    image = api.post("/firmware/images", json={**fits, "notes": "wallbox build"})
    assert image.status_code == 201, image.text
    rollout = api.post("/firmware/rollouts", json={
        "name": "Wallboxes 1.4.2", "image_id": image.json()["id"], "asset_ids": ids,
        "canary_pct": 25, "wave_size": 3, "max_failure_pct": 20})  # fmt: skip
    assert rollout.status_code == 201, rollout.text
    rid = rollout.json()["id"]

    def report(asset_id: int, **body: str) -> None:
        done = api.post(f"/firmware/rollouts/{rid}/devices/{asset_id}/report", json=body)
        assert done.status_code == 200, done.text

    for asset_id in ids[:2]:  # the canary: both verified, so wave 1 is offered
        report(asset_id, state="downloading")
        report(asset_id, state="installed", version="1.4.2")
    report(ids[2], state="downloading")
    report(ids[3], state="failed", error="flash write error")  # 1 of 3 = 33 % > 20 %
    shown = api.get(f"/firmware/rollouts/{rid}").json()
    assert shown["state"] == "paused", shown
    return {"id": rid, "ids": ids, "api": api, "site": site["id"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("firmware-dashboard")) as dashboard:
        yield dashboard, _seed(dashboard)


async def _open(browser: Browser, width: int, height: int) -> tuple[Page, list[str]]:
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
    return page, problems


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    opened, problems = await _open(browser, 1280, 900)
    yield opened
    await opened.context.close()
    assert not problems, f"console errors: {problems}"


async def _log_in(page: Page, url: str, username: str, path: str = "/firmware") -> None:
    await log_in(page, url, username, path)


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def _expect_waves_as_api(page: Page, api: httpx.Client, rid: int) -> None:
    """Each wave's row: its devices and the count per state, as ``GET .../devices`` has them."""
    devices = api.get(f"/firmware/rollouts/{rid}/devices").json()
    rows = page.get_by_test_id(f"rollout-{rid}").get_by_test_id("rollout-waves").locator("tbody tr")
    waves = sorted({d["wave"] for d in devices})
    await expect(rows).to_have_count(len(waves))
    for wave in waves:
        mine = [d["state"] for d in devices if d["wave"] == wave]
        counts = Counter(mine)
        cells = rows.nth(wave).locator("td")
        await expect(cells.nth(0)).to_have_text("canary" if wave == 0 else f"wave {wave}")
        await expect(cells.nth(1)).to_have_text(str(len(mine)))
        for column, state in enumerate(STATES, start=2):
            await expect(cells.nth(column)).to_have_text(str(counts.get(state, 0)))


async def test_an_operator_sees_the_waves_and_resumes_then_pauses(server, page):
    dashboard, seeded = server
    api, rid = seeded["api"], seeded["id"]
    await _log_in(page, dashboard.url, "operator")
    card = page.get_by_test_id(f"rollout-{rid}")
    await expect(card.get_by_test_id("state-paused")).to_be_visible()
    await expect(card.get_by_test_id("rollout-reason")).to_have_text(
        "Paused: wave 1: 33 % failed (threshold 20 %)"
    )
    await _expect_waves_as_api(page, api, rid)
    await expect(card.get_by_test_id("rollout-waves")).to_contain_text("33.3 % of 20 %")
    await expect(page.get_by_test_id("image-sha")).to_have_text(f"{SHA[:12]}\u2026")
    await expect(page.get_by_test_id("firmware-images")).to_contain_text("ev charger (every model)")
    await _shot(page, "firmware")
    await page.get_by_test_id("dark-toggle").click()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await _shot(page, "firmware-dark")
    await page.get_by_test_id("dark-toggle").click()

    # a WebSocket client of the live API hears the page's resume and pause, as from the API
    live = await authenticated(dashboard.url, bearer(dashboard.token("admin")))
    assert (await subscribe(live, events=["firmware_rollouts"]))["type"] == "subscribed"
    await card.get_by_test_id("rollout-resume").click()
    await expect(card.get_by_test_id("state-running")).to_be_visible()
    assert api.get(f"/firmware/rollouts/{rid}").json()["state"] == "running"
    heard = (await recv_until(live, lambda m: m["type"] == "firmware_rollout"))[-1]
    assert (heard["rollout_id"], heard["previous"], heard["state"]) == (rid, "paused", "running")
    await card.get_by_test_id("rollout-pause").click()
    await expect(card.get_by_test_id("rollout-reason")).to_have_text("Paused: paused by operator")
    shown = api.get(f"/firmware/rollouts/{rid}").json()
    assert (shown["state"], shown["paused_reason"]) == ("paused", "paused by operator")
    heard = (await recv_until(live, lambda m: m["type"] == "firmware_rollout"))[-1]
    assert (heard["previous"], heard["state"]) == ("running", "paused")
    assert (heard["paused_reason"], heard["site_ids"]) == ("paused by operator", [seeded["site"]])
    # another operator resumes through the API: the open page follows the event, then pauses
    assert api.post(f"/firmware/rollouts/{rid}/resume").status_code == 200
    await expect(card.get_by_test_id("state-running")).to_be_visible(timeout=5_000)
    await card.get_by_test_id("rollout-pause").click()
    await expect(card.get_by_test_id("state-paused")).to_be_visible()
    await live.close()


async def test_the_detail_follows_reports_at_local_time(server, page):
    dashboard, seeded = server
    api, rid, ids = seeded["api"], seeded["id"], seeded["ids"]
    await _log_in(page, dashboard.url, "admin", f"/firmware/{rid}")
    rows = page.get_by_test_id("rollout-devices")
    await expect(rows.locator("[data-testid^=device-state-]")).to_have_count(8)
    await expect(page.get_by_test_id(f"device-{ids[3]}")).to_contain_text("failed")
    await expect(page.get_by_test_id(f"device-{ids[3]}")).to_contain_text("flash write error")
    await expect(page.get_by_test_id(f"device-{ids[0]}")).to_contain_text("runs 1.4.2")
    await expect(page.get_by_test_id(f"device-{ids[0]}")).to_contain_text("verified")
    pending = page.get_by_test_id(f"device-{ids[7]}").get_by_test_id("device-reported")
    await expect(pending).to_have_text("not offered yet")
    reported = page.get_by_test_id(f"device-{ids[0]}").get_by_test_id("device-reported")
    await expect(reported).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d CES?T$"))
    # a report through the API reaches the open page by its refresh
    done = api.post(f"/firmware/rollouts/{rid}/devices/{ids[2]}/report",
                    json={"state": "installed", "version": "1.4.2"})  # fmt: skip
    assert done.status_code == 200, done.text
    await expect(page.get_by_test_id(f"device-{ids[2]}")).to_contain_text(
        "verified", timeout=10_000
    )
    await _expect_waves_as_api(page, api, rid)
    await _shot(page, "firmware-detail")


async def test_a_viewer_reads_only_and_a_phone_fits(server, browser, page):
    dashboard, seeded = server
    rid = seeded["id"]
    await _log_in(page, dashboard.url, "viewer")
    await expect(page.get_by_test_id(f"rollout-{rid}")).to_be_visible()
    await expect(page.get_by_test_id("rollout-waves")).to_be_visible()
    await expect(page.get_by_test_id("rollout-pause")).to_have_count(0)
    await expect(page.get_by_test_id("rollout-resume")).to_have_count(0)
    phone, problems = await _open(browser, 390, 844)
    try:
        await _log_in(phone, dashboard.url, "operator")
        await expect(phone.get_by_test_id(f"rollout-{rid}")).to_be_visible()
        await expect(phone.get_by_test_id("wave-card-1")).to_contain_text("wave 1 \u00b7 3 devices")
        await expect(phone.get_by_test_id("wave-card-1")).to_contain_text("Failed / threshold")
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        await _shot(phone, "firmware-phone")
        await phone.goto(f"{dashboard.url}/firmware/{rid}")
        await expect(phone.get_by_test_id("rollout-devices")).to_be_visible()
        await _shot(phone, "firmware-detail-phone")
    finally:
        await phone.context.close()
    assert not problems, f"console errors: {problems}"
