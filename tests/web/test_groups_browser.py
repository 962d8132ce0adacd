"""Creating device groups on the groups page, in Debian's headless Chromium against
`gridpilot serve`: an operator makes a group of devices picked by name and one by a filter
(kind and site picked by name), each listed with its members and equal to what the API then
answers; a name already taken and a filter without a criterion are refused in words beside the
form, never a 500; a viewer sees the groups without the form; light, dark and 390 px phone
screenshots in ``test-output/screenshots/groups-*``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import api, dark, log_in, no_sideways_scroll, shot, watched_page

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect


def _seed(server: Dashboard) -> dict[str, int]:
    """Rome with two batteries and a PV inverter, Lisbon with one battery."""
    for user, role in (("admin", "administrator"), ("operator", "operator"), ("viewer", "viewer")):
        server.add_user(user, role)
    http = api(server)
    rome = http.post("/sites", json={"name": "Roma", "timezone": "Europe/Rome"}).json()
    lisbon = http.post("/sites", json={"name": "Lisboa", "timezone": "Europe/Lisbon"}).json()
    made = {}
    for site, name, kind in (
        (rome, "BESS 0", "battery"),
        (rome, "BESS 1", "battery"),
        (rome, "Roof PV", "solar_pv"),
        (lisbon, "BESS L", "battery"),
    ):
        asset = http.post("/assets", json={"site_id": site["id"], "name": name, "kind": kind})
        assert asset.status_code == 201, asset.text
        made[name] = asset.json()["id"]
    return {"rome": rome["id"], "lisbon": lisbon["id"], **made}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("groups-create")) as dashboard:
        yield dashboard, _seed(dashboard)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


async def _choose(page: Page, test_id: str, *options: str) -> None:
    """Pick ``options`` in a multiple select, then close its menu."""
    await page.get_by_test_id(test_id).click()
    for option in options:
        await page.get_by_role("option", name=option, exact=True).click()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("option")).to_have_count(0)


def _group(server: Dashboard, name: str) -> dict:
    found = [g for g in api(server).get("/groups").json() if g["name"] == name]
    assert len(found) == 1, found
    return found[0]


async def test_an_operator_creates_a_picked_and_a_filtered_group(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "operator", "/groups")
    await expect(page.get_by_test_id("groups-empty")).to_be_visible()

    await page.get_by_test_id("group-name").fill("Rome storage")
    await page.get_by_test_id("group-description").fill("The two batteries of Roma")
    await _choose(page, "group-members", "BESS 0 (Roma)", "BESS 1 (Roma)")
    await page.get_by_test_id("group-create").click()
    made = _group(dashboard, "Rome storage")
    picked = page.get_by_test_id(f"group-{made['id']}")
    await expect(picked).to_contain_text("Rome storage")
    await expect(picked).to_contain_text("The two batteries of Roma")
    await expect(picked).to_contain_text("Picked devices: BESS 0, BESS 1")
    assert (made["kind"], made["asset_ids"]) == ("static", [ids["BESS 0"], ids["BESS 1"]])
    assert made["description"] == "The two batteries of Roma"
    await expect(page.get_by_test_id("group-name")).to_have_value("")  # ready for the next

    await page.get_by_test_id("group-name").fill("Batteries of Roma")
    await page.get_by_test_id("group-way").get_by_text("By a filter").click()
    await page.get_by_test_id("group-create").click()  # no criterion yet
    error = page.get_by_test_id("group-error")
    await expect(error).to_contain_text("a dynamic group needs at least one criterion")
    await _choose(page, "group-kinds", "Battery")
    await _choose(page, "group-site-ids", "Roma")
    await page.get_by_test_id("group-create").click()
    await expect(error).to_be_hidden()
    made = _group(dashboard, "Batteries of Roma")
    assert made["filter"] == {"kinds": ["battery"], "site_ids": [ids["rome"]]}
    line = page.get_by_test_id(f"group-{made['id']}")
    await expect(line).to_contain_text(
        "Filter: Kinds: Battery \u00b7 Sites: Roma \u00b7 2 devices now"
    )
    members = api(dashboard).get(f"/groups/{made['id']}/members").json()
    assert {m["name"] for m in members["members"]} == {"BESS 0", "BESS 1"}

    # a name taken: refused in words, nothing made, the form keeps what was typed
    await page.get_by_test_id("group-name").fill("Rome storage")
    await page.get_by_test_id("group-create").click()
    await expect(error).to_have_text(
        "a group named 'Rome storage' exists already: choose another name"
    )
    await expect(page.get_by_test_id("group-name")).to_have_value("Rome storage")
    assert len(api(dashboard).get("/groups").json()) == 2
    await shot(page, "groups-light")
    await dark(page)
    await expect(page.get_by_test_id(f"group-{made['id']}")).to_be_visible()
    await shot(page, "groups-dark")


async def test_a_viewer_sees_the_groups_without_the_form_and_a_phone_fits(server, browser):
    dashboard, ids = server
    made = api(dashboard).post(
        "/groups", json={"name": "Lisbon", "kind": "static", "asset_ids": [ids["BESS L"]]}
    )
    assert made.status_code == 201, made.text
    async for viewer in watched_page(browser):
        await log_in(viewer, dashboard.url, "viewer", "/groups")
        line = viewer.get_by_test_id(f"group-{made.json()['id']}")
        await expect(line).to_contain_text("Picked devices: BESS L")
        await expect(viewer.get_by_test_id("group-form")).to_have_count(0)
        await expect(viewer.locator("[data-testid^=group-delete-]")).to_have_count(0)
    async for phone in watched_page(browser, width=390):
        await log_in(phone, dashboard.url, "operator", "/groups")
        await expect(phone.get_by_test_id("group-form")).to_be_visible()
        await phone.get_by_test_id("group-way").get_by_text("By a filter").click()
        await expect(phone.get_by_test_id("group-firmware-versions")).to_be_visible()
        await expect(phone.get_by_test_id(f"group-{made.json()['id']}")).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, "groups-phone")
