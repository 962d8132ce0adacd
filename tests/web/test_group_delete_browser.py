"""Deleting a device group on the groups page, in Debian's headless Chromium against
`gridpilot serve`: an unused group goes after a confirmation; one that an alert rule and a
command schedule use is refused in words naming them, kept on "Keep the group", and deleted on
"Disable them and delete" (the API then shows the rule disabled, the schedule without its
group); a viewer has no delete button. Screenshot in ``test-output/screenshots/``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import log_in

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

SCREENSHOTS = Path("test-output/screenshots")


def _seed(server: Dashboard) -> dict:
    server.add_user("admin", "administrator")
    server.add_user("operator", "operator")
    server.add_user("viewer", "viewer")
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.token("admin"), timeout=60)
    rome = api.post("/sites", json={"name": "Roma", "timezone": "Europe/Rome"}).json()
    for n in range(2):
        made = api.post("/assets", json={"site_id": rome["id"], "name": f"BESS {n}",
                                         "kind": "battery", "rated_capacity_kw": 50})  # fmt: skip
        assert made.status_code == 201, made.text
    batteries = {"kinds": ["battery"], "site_ids": [rome["id"]]}
    used = api.post(
        "/groups", json={"name": "Rome batteries", "kind": "dynamic", "filter": batteries}
    )
    assert used.status_code == 201, used.text
    spare = api.post("/groups", json={"name": "Spare", "kind": "static", "asset_ids": []})
    assert spare.status_code == 201, spare.text
    rule = api.post("/alert-rules", json={
        "name": "Hot batteries", "kind": "threshold", "metric": "power_kw",
        "params": {"threshold": 40}, "group_id": used.json()["id"]})  # fmt: skip
    assert rule.status_code == 201, rule.text
    night = api.post("/command-schedules", json={
        "name": "Night charge", "group_id": used.json()["id"], "kind": "charge",
        "params": {"power_kw": 20}, "cron": "30 2 * * *"})  # fmt: skip
    assert night.status_code == 201, night.text
    return {"api": api, "used": used.json()["id"], "spare": spare.json()["id"],
            "rule": rule.json()["id"], "night": night.json()["id"]}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("groups-dashboard")) as dashboard:
        yield dashboard, _seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    yield opened
    await context.close()
    assert not problems, f"console errors: {problems}"


async def test_a_group_in_use_is_refused_in_words_then_forced(server, page):
    dashboard, seeded = server
    api, used, spare = seeded["api"], seeded["used"], seeded["spare"]
    await log_in(page, dashboard.url, "operator", "/groups")
    groups = page.get_by_test_id("groups")
    await expect(groups.get_by_test_id(f"group-{used}")).to_contain_text("Rome batteries")
    await expect(groups.get_by_test_id(f"group-{spare}")).to_contain_text(
        "Picked devices: none yet"
    )

    # an unused group: deleted after the confirmation
    await page.get_by_test_id(f"group-delete-{spare}").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id(f"group-{spare}")).to_have_count(0)
    assert api.get(f"/groups/{spare}").status_code == 404

    # the group in use: refused in words, naming the rule and the schedule
    await page.get_by_test_id(f"group-delete-{used}").click()
    await page.get_by_test_id("confirm-yes").click()
    dialog = page.get_by_test_id("group-in-use")
    await expect(dialog).to_contain_text("Group \u201cRome batteries\u201d is in use")
    await expect(dialog).to_contain_text("used by 1 alert rule and 1 command schedule:")
    users = dialog.get_by_test_id("group-users")
    await expect(users).to_contain_text(
        f"alert rule \u201cHot batteries\u201d (#{seeded['rule']}, enabled)"
    )
    await expect(users).to_contain_text(
        f"command schedule \u201cNight charge\u201d (#{seeded['night']}, enabled)"
    )
    await expect(dialog).to_contain_text("disabled (their history is kept)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "group-in-use.png"), full_page=True)
    await dialog.get_by_test_id("group-keep").click()
    await expect(dialog).to_have_count(0)
    assert api.get(f"/groups/{used}").status_code == 200
    assert api.get(f"/alert-rules/{seeded['rule']}").json()["enabled"] is True

    # forced: the rule and the schedule are disabled, the group is gone
    await page.get_by_test_id(f"group-delete-{used}").click()
    await page.get_by_test_id("confirm-yes").click()
    await page.get_by_test_id("group-in-use").get_by_test_id("group-force").click()
    await expect(page.get_by_test_id(f"group-{used}")).to_have_count(0)
    assert api.get(f"/groups/{used}").status_code == 404
    rule = api.get(f"/alert-rules/{seeded['rule']}").json()
    assert (rule["enabled"], rule["group_id"]) == (False, used)
    night = api.get(f"/command-schedules/{seeded['night']}").json()
    assert (night["enabled"], night["group_id"]) == (False, None)
    await page.goto(f"{dashboard.url}/schedules")
    await expect(page.get_by_test_id("schedule-table")).to_contain_text("group deleted")


async def test_a_viewer_cannot_delete(server, page):
    dashboard, seeded = server
    made = seeded["api"].post("/groups", json={"name": "Kept", "kind": "static", "asset_ids": []})
    assert made.status_code == 201, made.text
    await log_in(page, dashboard.url, "viewer", "/groups")
    await expect(page.get_by_test_id(f"group-{made.json()['id']}")).to_contain_text("Kept")
    await expect(page.locator("[data-testid^=group-delete-]")).to_have_count(0)
