"""Settings: a site's flexible resources (add with a refused figure beside its field, edit,
delete after a confirmation; viewers read only) in Debian's headless Chromium against
``gridpilot serve``; results checked through ``/api/v1/sites/{id}/flex-resources``.

Screenshots (light, dark, phone) land in ``test-output/screenshots/settings-flex*``.
"""

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
    settled,
    shot,
    watched_page,
)

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    """The plant (Europe/Rome) with a battery asset besides its meter."""
    with dashboard_server(tmp_path_factory.mktemp("flex")) as dashboard:
        ids = seed(dashboard)
        body = {"site_id": ids["plant"], "name": "Plant battery", "kind": "battery"}
        made = api(dashboard).post("/assets", json=body)
        assert made.status_code == 201, made.text
        yield dashboard, {**ids, "battery": made.json()["id"]}


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


def _resources(dashboard: Dashboard, site_id: int) -> list[dict]:
    answer = api(dashboard).get(f"/sites/{site_id}/flex-resources")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _choose(page: Page, test_id: str, option: str) -> None:
    await page.get_by_test_id(test_id).click()
    await page.get_by_role("option", name=option, exact=True).click()


def _field(page: Page, test_id: str):
    return page.locator(".q-field", has=page.get_by_test_id(test_id))


async def test_an_operator_adds_edits_and_deletes_a_battery(server, page):
    dashboard, ids = server
    plant = ids["plant"]
    await log_in(page, dashboard.url, "operator", "/settings")
    await page.get_by_test_id("settings-flex").get_by_role("link").click()
    await _choose(page, "flex-site", "Old depot")
    await expect(page).to_have_url(f"{dashboard.url}/settings/flex?site={ids['doomed']}")
    await expect(page.get_by_test_id("empty-note")).to_contain_text("Old depot has no")
    await _choose(page, "flex-site", "Settings plant")
    await expect(page).to_have_url(f"{dashboard.url}/settings/flex?site={plant}")
    await expect(page.get_by_test_id("empty-note")).to_contain_text("Settings plant has no")

    await page.get_by_test_id("add-flex").click()
    await _choose(page, "flex-kind", "Deferrable load")  # the kind's own parameters
    await expect(_field(page, "param-window_start")).to_contain_text("HH:MM, site time")
    await expect(page.get_by_test_id("param-capacity_kwh")).to_have_count(0)
    await _choose(page, "flex-kind", "Battery")
    await expect(page.get_by_test_id("param-window_start")).to_have_count(0)
    await page.get_by_test_id("flex-name").fill("BESS")
    await _choose(page, "flex-asset_id", "Plant battery (battery)")
    await page.get_by_test_id("param-capacity_kwh").fill("200")
    await page.get_by_test_id("param-charge_max_kw").fill("100")
    await page.get_by_test_id("param-discharge_max_kw").fill("80")
    await page.get_by_test_id("param-soc_min_pct").fill("95")  # above the 90 % ceiling
    await page.get_by_test_id("flex-save").click()
    await expect(_field(page, "param-soc_min_pct")).to_contain_text(  # the labels, not keys
        "Lowest state of charge allowed [%] must not exceed highest state of charge allowed [%]"
    )
    await expect(_field(page, "param-soc_min_pct")).not_to_contain_text("soc_")
    await expect(_field(page, "param-soc_min_pct")).not_to_contain_text("params")
    await expect(_field(page, "param-capacity_kwh")).not_to_contain_text("must")
    await settled(page)
    await shot(page, "settings-flex-refused")
    assert _resources(dashboard, plant) == []

    await page.get_by_test_id("param-soc_min_pct").fill("15")
    await page.get_by_test_id("param-soc_end_pct").fill("80")
    await page.get_by_test_id("param-cycle_cost_eur_per_kwh").fill("0.04")
    await page.get_by_test_id("flex-auto_dispatch").click()
    await page.get_by_test_id("flex-save").click()
    await expect(page.get_by_test_id("flex-save")).to_have_count(0)
    (stored,) = _resources(dashboard, plant)
    assert (stored["kind"], stored["name"], stored["asset_id"]) == (
        "battery",
        "BESS",
        ids["battery"],
    )
    assert stored["auto_dispatch"] is True and stored["enabled"] is True
    assert stored["params"] == {
        "capacity_kwh": 200.0, "soc_min_pct": 15.0, "soc_max_pct": 90.0, "soc_start_pct": 50.0,
        "soc_end_pct": 80.0, "charge_max_kw": 100.0, "discharge_max_kw": 80.0,
        "charge_efficiency": 0.95, "discharge_efficiency": 0.95, "cycle_cost_eur_per_kwh": 0.04,
    }  # fmt: skip
    row = page.get_by_test_id(f"flex-{stored['id']}")
    await expect(row).to_contain_text("Battery · Plant battery · 200.0 kWh, charge 100.0 kW")
    await expect(row).to_contain_text("discharge 80.0 kW, SOC 15-90 % · auto-dispatch on")
    await expect(page.get_by_test_id(f"flex-{stored['id']}-badge")).to_have_text("enabled")
    await shot(page, "settings-flex")

    await page.get_by_test_id(f"flex-{stored['id']}-edit").click()
    await expect(page.get_by_test_id("param-capacity_kwh")).to_have_value("200")
    await page.get_by_test_id("param-discharge_max_kw").fill("90")
    await page.get_by_test_id("param-soc_end_pct").fill("")
    await page.get_by_test_id("flex-enabled").click()
    await page.get_by_test_id("flex-save").click()
    await expect(row).to_contain_text("discharge 90.0 kW")
    await expect(page.get_by_test_id(f"flex-{stored['id']}-badge")).to_have_text("disabled")
    (edited,) = _resources(dashboard, plant)
    assert edited["params"] == {**stored["params"], "discharge_max_kw": 90.0, "soc_end_pct": None}
    assert edited["enabled"] is False and edited["asset_id"] == ids["battery"]

    await dark(page)
    await page.get_by_test_id(f"flex-{stored['id']}-edit").click()
    await expect(page.get_by_test_id("param-capacity_kwh")).to_be_visible()
    await settled(page)
    await shot(page, "settings-flex-form-dark")
    await page.get_by_role("button", name="Cancel").click()
    await page.get_by_test_id(f"flex-{stored['id']}-delete").click()
    await expect(page.get_by_test_id("confirm-text")).to_contain_text("peak-shaving settings")
    await page.get_by_test_id("confirm-yes").click()
    await expect(row).to_have_count(0)
    await expect(page.get_by_test_id("empty-note")).to_be_visible()
    assert _resources(dashboard, plant) == []


async def test_viewers_read_resources_without_controls(server, page, browser):
    dashboard, ids = server
    plant = ids["plant"]
    http = api(dashboard)
    ev = {
        "kind": "ev_charger", "name": "Car park", "params": {
            "power_min_kw": 1.4, "power_max_kw": 11, "sessions": [{
                "arrival": "2026-12-05T07:00:00Z", "departure": "2026-12-05T17:00:00Z",
                "energy_kwh": 30,
            }],
        },
    }  # fmt: skip
    oven = {
        "kind": "deferrable_load", "name": "Heat pump boiler", "params": {
            "energy_kwh": 12, "power_max_kw": 4, "window_start": "22:00", "window_end": "06:00",
        },
    }  # fmt: skip
    made = [http.post(f"/sites/{plant}/flex-resources", json=b) for b in (ev, oven)]
    assert [m.status_code for m in made] == [201, 201], [m.text for m in made]
    ev_id, oven_id = (m.json()["id"] for m in made)

    await log_in(page, dashboard.url, "viewer", f"/settings/flex?site={plant}")
    car = page.get_by_test_id(f"flex-{ev_id}")
    await expect(car).to_contain_text("EV charger · 1.4 kW to 11.0 kW, 30.0 kWh by 18:00 Dec 5")
    await expect(page.get_by_test_id(f"flex-{oven_id}")).to_contain_text(
        "12.0 kWh between 22:00 and 06:00 (site time), up to 4.0 kW, interruptible"
    )
    await expect(page.get_by_test_id("read-only")).to_be_visible()
    await expect(page.get_by_test_id("add-flex")).to_have_count(0)
    await expect(page.get_by_test_id(f"flex-{ev_id}-edit")).to_have_count(0)
    await expect(page.get_by_test_id(f"flex-{ev_id}-delete")).to_have_count(0)
    refused = api(dashboard, "viewer").delete(f"/sites/{plant}/flex-resources/{ev_id}")
    assert refused.status_code == 403

    async for phone in watched_page(browser, width=390):
        await log_in(phone, dashboard.url, "admin", f"/settings/flex?site={plant}")
        await expect(phone.get_by_test_id(f"flex-{oven_id}")).to_be_visible()
        await no_sideways_scroll(phone)
        await shot(phone, "settings-flex-phone")
        await phone.get_by_test_id(f"flex-{ev_id}-edit").click()
        await expect(phone.get_by_test_id("param-power_max_kw")).to_have_value("11")
        await settled(phone)
        await no_sideways_scroll(phone)
        await shot(phone, "settings-flex-form-phone")
        await phone.get_by_role("button", name="Cancel").click()
        await dark(phone)
        await expect(phone.get_by_test_id(f"flex-{oven_id}")).to_be_visible()
        await settled(phone)
        await shot(phone, "settings-flex-phone-dark")
    for resource_id in (ev_id, oven_id):
        assert http.delete(f"/sites/{plant}/flex-resources/{resource_id}").status_code == 204


async def test_an_operator_adds_edits_and_deletes_ev_sessions(server, page):
    """An EV charger's charging sessions in the form: times in the site's zone (Rome), stored
    as instants; refusals beside the field they concern, in words."""
    dashboard, ids = server
    plant = ids["plant"]
    await log_in(page, dashboard.url, "operator", f"/settings/flex?site={plant}")
    await page.get_by_test_id("add-flex").click()
    await settled(page)
    await _choose(page, "flex-kind", "EV charger")
    await expect(page.get_by_test_id("session-add")).to_be_visible()
    await page.get_by_test_id("flex-name").fill("Wallbox")
    await page.get_by_test_id("param-power_min_kw").fill("1.4")
    await page.get_by_test_id("param-power_max_kw").fill("11")
    await page.get_by_test_id("session-add").click()
    await settled(page)
    await page.get_by_test_id("session-0-label").fill("Van")
    await page.get_by_test_id("session-0-arrival").fill("2026-12-05T17:00")
    await page.get_by_test_id("session-0-departure").fill("2026-12-05T07:00")  # before it came
    await page.get_by_test_id("flex-save").click()
    await expect(_field(page, "session-0-departure")).to_contain_text(
        "departure must be after arrival"
    )
    await expect(_field(page, "session-0-energy_kwh")).to_contain_text("needed")
    await page.get_by_test_id("session-0-arrival").fill("2027-03-28T02:30")  # clocks go forward
    await page.get_by_test_id("session-0-energy_kwh").fill("30")
    await page.get_by_test_id("flex-save").click()
    await expect(_field(page, "session-0-arrival")).to_contain_text(
        "02:30 on 2027-03-28 does not exist in Europe/Rome"
    )
    await settled(page)
    await shot(page, "settings-flex-ev-refused")
    assert _resources(dashboard, plant) == []

    await page.get_by_test_id("session-0-arrival").fill("2026-12-05T07:00")
    await page.get_by_test_id("session-0-departure").fill("2026-12-05T17:00")
    await page.get_by_test_id("flex-save").click()
    await expect(page.get_by_test_id("flex-save")).to_have_count(0)
    (stored,) = _resources(dashboard, plant)
    assert stored["params"]["power_min_kw"] == 1.4 and stored["params"]["power_max_kw"] == 11
    # 07:00 and 17:00 in Rome (CET, UTC+1) on 5 December
    assert stored["params"]["sessions"] == [{
        "label": "Van", "arrival": "2026-12-05T06:00:00Z", "departure": "2026-12-05T16:00:00Z",
        "energy_kwh": 30.0,
    }]  # fmt: skip
    row = page.get_by_test_id(f"flex-{stored['id']}")
    await expect(row).to_contain_text("1.4 kW to 11.0 kW, 30.0 kWh by 17:00 Dec 5")

    await page.get_by_test_id(f"flex-{stored['id']}-edit").click()
    await settled(page)
    await expect(page.get_by_test_id("session-0-arrival")).to_have_value("2026-12-05T07:00")
    await page.get_by_test_id("session-add").click()
    await settled(page)
    await page.get_by_test_id("session-1-arrival").fill("2026-12-05T16:00")  # the van is there
    await page.get_by_test_id("session-1-departure").fill("2026-12-06T08:00")
    await page.get_by_test_id("session-1-energy_kwh").fill("12.5")
    await page.get_by_test_id("flex-save").click()
    await expect(page.get_by_test_id("sessions-error")).to_have_text(
        "sessions 1 and 2 overlap: a charger charges one car at a time"
    )
    await page.get_by_test_id("session-1-arrival").fill("2026-12-05T18:30")
    await settled(page)
    await shot(page, "settings-flex-ev-sessions")
    await page.get_by_test_id("flex-save").click()
    await expect(row).to_contain_text("30.0 kWh by 17:00 Dec 5, 12.5 kWh by 08:00 Dec 6")
    (edited,) = _resources(dashboard, plant)
    assert [(s["arrival"], s["energy_kwh"]) for s in edited["params"]["sessions"]] == [
        ("2026-12-05T06:00:00Z", 30.0),
        ("2026-12-05T17:30:00Z", 12.5),
    ]

    await page.get_by_test_id(f"flex-{stored['id']}-edit").click()
    await settled(page)
    await page.get_by_test_id("session-0-delete").click()
    await expect(page.get_by_test_id("session-0")).to_have_count(0)
    await expect(page.get_by_test_id("session-1")).to_contain_text("Session 1")  # renumbered
    await page.get_by_test_id("flex-save").click()
    await expect(row).not_to_contain_text("30.0 kWh")
    (left,) = _resources(dashboard, plant)
    assert left["params"]["sessions"] == [edited["params"]["sessions"][1]]
    assert api(dashboard).delete(f"/sites/{plant}/flex-resources/{stored['id']}").status_code == 204
