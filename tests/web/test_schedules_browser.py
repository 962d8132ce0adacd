"""The schedules calendar in Debian's headless Chromium against `gridpilot serve`: the next
occurrences per local day at the site's local time (a daily 02:30 in Rome, a one-off in
Lisbon), light, dark and a 390 px phone, no console error or CSP violation; a viewer of the
Lisbon site sees only Lisbon's schedule; each schedule's runs with their devices' outcome, and
an operator disables and enables a schedule with its switch. Screenshots land in
``test-output/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import log_in

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

SCREENSHOTS = Path("test-output/screenshots")


def _seed(server: Dashboard) -> dict[str, object]:
    server.add_user("admin", "administrator")
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.token("admin"), timeout=60)
    rome = api.post("/sites", json={"name": "Roma", "timezone": "Europe/Rome"}).json()
    lisbon = api.post("/sites", json={"name": "Lisboa", "timezone": "Europe/Lisbon"}).json()
    ids = []
    for site in (rome, lisbon):
        made = api.post(
            "/assets",
            json={
                "site_id": site["id"],
                "name": "BESS",
                "kind": "battery",
                "rated_capacity_kw": 50,
            },
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    daily = api.post("/command-schedules", json={
        "name": "Night charge", "asset_id": ids[0], "kind": "charge",
        "params": {"power_kw": 20}, "cron": "30 2 * * *"})  # fmt: skip
    assert daily.status_code == 201, daily.text
    at = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=15, second=0, microsecond=0)
    once = api.post("/command-schedules", json={
        "name": "Firmware window", "asset_id": ids[1], "kind": "stop",
        "run_at": at.isoformat()})  # fmt: skip
    assert once.status_code == 201, once.text
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    ran = api.post("/command-schedules", json={
        "name": "Quick stop", "asset_id": ids[0], "kind": "stop", "run_at": soon})  # fmt: skip
    assert ran.status_code == 201, ran.text
    server.add_user("lisbon", "viewer", sites=str(lisbon["id"]))
    server.add_user("operator", "operator")
    upcoming = api.get("/command-occurrences", params={"days": 7}).json()
    return {"daily": daily.json(), "once": once.json(), "ran": ran.json(), "upcoming": upcoming}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("schedules-dashboard")) as dashboard:
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


async def _log_in(page: Page, url: str, username: str) -> None:
    await log_in(page, url, username, "/schedules")


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_the_calendar_shows_each_occurrence_at_local_time(server, page):
    dashboard, seeded = server
    await _log_in(page, dashboard.url, "admin")
    daily = [u for u in seeded["upcoming"] if u["schedule_id"] == seeded["daily"]["id"]]
    assert len(daily) == 7  # one a day for 7 days
    for item in daily:
        at_ms = int(datetime.fromisoformat(item["at"]).timestamp() * 1000)
        row = page.get_by_test_id(f"occurrence-{item['schedule_id']}-{at_ms}")
        await expect(row).to_contain_text(re.compile(r"02:30 CES?T"))
        await expect(row).to_contain_text("Night charge")
        day = item["local"][:10]
        await expect(page.get_by_test_id(f"calendar-{day}")).to_contain_text("Night charge")
    once = seeded["once"]
    local = datetime.fromisoformat(once["next_run_local"])
    await expect(page.get_by_test_id(f"calendar-{local.date().isoformat()}")).to_contain_text(
        f"{local:%H:%M} WE"  # Lisbon: WET or WEST
    )
    await expect(page.get_by_test_id("schedule-table")).to_contain_text("cron 30 2 * * *")
    await _shot(page, "schedules")
    await page.get_by_test_id("dark-toggle").click()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await _shot(page, "schedules-dark")
    await page.get_by_test_id("dark-toggle").click()


async def test_a_phone_and_another_sites_viewer(server, browser, page):
    dashboard, _ = server
    phone, problems = await _open(browser, 390, 844)
    try:
        await _log_in(phone, dashboard.url, "admin")
        await expect(phone.get_by_test_id("schedule-table")).to_be_visible()
        # every column on screen (cards), not cut off to the right of a wide table
        state = phone.get_by_test_id("schedule-table").get_by_text("State", exact=True).first
        box = await state.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        await _shot(phone, "schedules-phone")
    finally:
        await phone.context.close()
    assert not problems, f"console errors: {problems}"
    await _log_in(page, dashboard.url, "lisbon")
    await expect(page.get_by_test_id("schedule-table")).to_contain_text("Firmware window")
    await expect(page.get_by_text("Night charge")).to_have_count(0)


def _runs_of(dashboard: Dashboard, schedule_id: int) -> list[dict]:
    api = httpx.Client(
        base_url=f"{dashboard.url}/api/v1", headers=dashboard.token("admin"), timeout=60
    )
    return api.get(f"/command-schedules/{schedule_id}/runs").json()


async def test_runs_with_their_outcome_and_the_operators_switch(server, browser, page):
    dashboard, seeded = server
    ran = seeded["ran"]
    for _ in range(60):  # the one-off was due 3 s after the seed; the scheduler checks every 1 s
        if _runs_of(dashboard, ran["id"]):
            break
        await page.wait_for_timeout(500)
    assert len(_runs_of(dashboard, ran["id"])) == 1
    await _log_in(page, dashboard.url, "operator")
    runs = page.get_by_test_id(f"schedule-runs-{ran['id']}")
    await expect(runs).to_contain_text("Quick stop")
    await expect(page.get_by_test_id("schedule-table")).to_contain_text("done (ran once)")
    await expect(runs).to_contain_text("on time")
    await expect(runs).to_contain_text(re.compile(r"1 device: 1 \w+"))
    await expect(runs).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T"))
    daily = seeded["daily"]
    await expect(page.get_by_test_id(f"schedule-runs-{daily['id']}")).to_contain_text("No run yet.")
    switch = page.get_by_test_id(f"schedule-enabled-{daily['id']}")
    await expect(switch).to_have_attribute("aria-checked", "true")
    api = httpx.Client(
        base_url=f"{dashboard.url}/api/v1", headers=dashboard.token("admin"), timeout=60
    )

    async def stored_after_click(enabled: bool) -> dict:
        await switch.click()  # the page saves, says so and reloads
        for _ in range(40):
            stored = api.get(f"/command-schedules/{daily['id']}").json()
            if stored["enabled"] is enabled:
                return stored
            await page.wait_for_timeout(250)
        raise AssertionError(f"the switch did not set enabled={enabled}")

    stored = await stored_after_click(False)
    assert stored["next_run"] is None
    switch = page.get_by_test_id(f"schedule-enabled-{daily['id']}")  # the page reloaded
    await expect(switch).to_have_attribute("aria-checked", "false")
    stored = await stored_after_click(True)
    assert stored["next_run"] == daily["next_run"]  # from its next time on, nothing caught up
    await expect(switch).to_have_attribute("aria-checked", "true")
    await _shot(page, "schedules-runs")
    viewer, problems = await _open(browser, 1280, 900)  # a viewer: runs, no switch
    try:
        await _log_in(viewer, dashboard.url, "lisbon")
        await expect(viewer.get_by_test_id("schedule-table")).to_be_visible()
        await expect(viewer.get_by_text("No run yet.")).to_have_count(1)
        await expect(viewer.locator("[data-testid^=schedule-enabled-]")).to_have_count(0)
    finally:
        await viewer.context.close()
    assert not problems, f"console errors: {problems}"
