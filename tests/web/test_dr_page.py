"""The demand-response page in Debian's headless Chromium against ``gridpilot serve``: events
listed by status, an event's baseline / actual / target chart, the site's flexible resources,
an operator creates and cancels a test event, a viewer sees no buttons. Checked through the API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import (
    api,
    dark,
    log_in,
    no_sideways_scroll,
    settled,
    shot,
    watched_page,
)

from gridpilot.core.timestamps import now_ms

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

QUARTER = 900_000
ROME = ZoneInfo("Europe/Rome")
DAY = 86_400_000


def _history(dashboard: Dashboard, meter: int, end_ms: int) -> None:
    """15 days of 15-min consumption: 80 kW plus 40 kW in the working hours (UTC 7-17)."""
    ts = np.arange(end_ms - 15 * DAY, end_ms, QUARTER, dtype=np.int64)
    hour = (ts % DAY) / 3_600_000
    kw = 80.0 + 40.0 * ((hour >= 7) & (hour < 17))
    readings = [{"asset": meter, "metric": "power_kw", "ts": int(t), "value": float(v)}
                for t, v in zip(ts, kw, strict=True)]  # fmt: skip
    http = api(dashboard)
    for i in range(0, len(readings), 500):
        answer = http.post("/telemetry", json={"readings": readings[i : i + 500]})
        assert answer.status_code == 200, answer.text


def _within_a_local_day(lead_ms: int, length_ms: int) -> int:
    """The first quarter hour ``lead_ms`` or more ahead from which an event of ``length_ms``
    stays within one Rome day (events may not cross local midnight)."""
    start = -(-(now_ms() + lead_ms) // QUARTER) * QUARTER
    while True:
        first = datetime.fromtimestamp(start / 1000, ROME).date()
        if datetime.fromtimestamp((start + length_ms - 1) / 1000, ROME).date() == first:
            return start
        start += QUARTER


def _event(dashboard: Dashboard, site: int, start_ms: int, end_ms: int, kw: float) -> int:
    """Create an event through the seed's route, waiting for the roll-ups to hold the history."""
    body = {"facility_id": site, "event_start": start_ms, "event_end": end_ms,
            "target_reduction_kw": kw}  # fmt: skip
    url = f"{dashboard.url}/api/dr-events"
    for _ in range(60):
        answer = api(dashboard).post(url, json=body)
        if answer.status_code == 201:
            return int(answer.json()["event_id"])
        assert answer.status_code == 422, answer.text
        time.sleep(0.5)
    raise AssertionError(f"no event: {answer.text}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    with dashboard_server(tmp_path_factory.mktemp("dr"), dr_interval_s="1") as dashboard:
        dashboard.add_user("admin", "administrator")
        dashboard.add_user("operator", "operator")
        dashboard.add_user("viewer", "viewer")
        http = api(dashboard)
        site = http.post("/sites", json={"name": "DR office", "timezone": "Europe/Rome"}).json()
        meter = http.post("/assets", json={"site_id": site["id"], "name": "Office meter",
                                           "kind": "meter", "role": "consumer"}).json()  # fmt: skip
        hvac = http.post("/assets", json={"site_id": site["id"], "name": "Office HVAC",
                                          "kind": "hvac"}).json()  # fmt: skip
        resource = {"kind": "hvac", "name": "Office HVAC offset", "asset_id": hvac["id"],
                    "params": {"kw_per_degc": 2.0, "max_offset_degc": 2.0}}  # fmt: skip
        made = http.post(f"/sites/{site['id']}/flex-resources", json=resource)
        assert made.status_code == 201, made.text
        now = now_ms() // QUARTER * QUARTER
        _history(dashboard, meter["id"], now)
        past = now - 3 * 4 * QUARTER
        while (
            datetime.fromtimestamp(past / 1000, ROME).date()
            != datetime.fromtimestamp((past + 4 * QUARTER - 1) / 1000, ROME).date()
        ):
            past -= QUARTER  # within one local day
        past = _event(dashboard, site["id"], past, past + 4 * QUARTER, 15.0)
        soon = _within_a_local_day(8 * QUARTER, 4 * QUARTER)
        upcoming = _event(dashboard, site["id"], soon, soon + 4 * QUARTER, 10.0)
        yield dashboard, {"site": site["id"], "past": past, "upcoming": upcoming}


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser, width=390):
        yield opened


async def _plotted(page: Page) -> list[list]:
    """(series name, points drawn) of the event's chart, read from the ECharts instance."""
    await expect(page.get_by_test_id("dr-chart").locator("canvas")).to_have_count(1)
    return await page.evaluate(
        """() => {
            const el = document.querySelector('[data-testid=dr-chart]');
            const option = getElement(el).chart.getOption();
            return option.series.map((s) => [s.name, s.data.filter((p) => p[1] != null).length]);
        }"""
    )


def _status(dashboard: Dashboard, event_id: int) -> str:
    return str(api(dashboard).get(f"/dr-events/{event_id}").json()["status"])


async def test_the_page_lists_events_and_the_chart_shows_baseline_actual_and_target(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "viewer", "/dr")
    upcoming = page.get_by_test_id("dr-upcoming")
    await expect(upcoming.get_by_test_id(f"dr-event-{ids['upcoming']}")).to_be_visible()
    await expect(upcoming).to_contain_text("target 10.0 kW")
    await expect(upcoming).to_contain_text("CET")  # the site's local time with its zone
    past = page.get_by_test_id("dr-past").get_by_test_id(f"dr-event-{ids['past']}")
    await expect(past).to_be_visible(timeout=20_000)  # the DR loop measured it
    await expect(past.locator("[data-testid=status-completed]")).to_have_count(0)  # 0 kW reduced
    await expect(past.locator("[data-testid=status-failed]")).to_be_visible()
    await expect(page.get_by_test_id(f"flex-site-{ids['site']}")).to_contain_text(
        "2 kW per \u00b0C, up to 2 \u00b0C"
    )
    await expect(page.get_by_test_id("dr-create")).to_have_count(0)  # a viewer: no form
    await shot(page, "dr-list")

    await past.get_by_test_id("dr-event-link").click()
    await expect(page).to_have_url(f"{dashboard.url}/dr/{ids['past']}")
    chart = page.get_by_test_id("dr-chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    names = await _plotted(page)
    assert names == [["Baseline", 5], ["Target load", 5], ["Actual", 5]]  # 4 intervals + end
    await expect(page.get_by_test_id("kpi-dr-target-value")).to_have_text("15.0 kW")
    await expect(page.get_by_test_id("kpi-dr-performance-value")).to_contain_text("%")
    await expect(page.get_by_test_id("dr-cancel")).to_have_count(0)
    await shot(page, "dr-event")
    await dark(page)
    await expect(chart.locator("canvas")).to_have_count(1)
    await shot(page, "dr-event-dark")


def _live_window(now: int) -> tuple[int, int]:
    """Two quarters before the current one to two after, within its local day; in a day's
    first quarter the last hour of the day before (over, but active while it waits for its
    readings: an hour at most)."""
    current = now - now % QUARTER
    local = datetime.fromtimestamp(current / 1000, ROME)
    midnight = datetime.combine(local.date(), datetime.min.time(), ROME)
    first = int(midnight.timestamp() * 1000)
    start, end = max(first, current - 2 * QUARTER), min(first + DAY, current + 2 * QUARTER)
    return (current - 4 * QUARTER, current) if start == current else (start, end)


async def _actual_points(page: Page, at_least: int, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        points = dict(await _plotted(page))["Actual"]
        if points >= at_least or time.monotonic() > deadline:
            return int(points)
        await page.wait_for_timeout(250)


async def test_the_event_page_follows_its_measured_intervals_without_reloading(server, page):
    """An active event whose intervals have no readings yet: its page shows the baseline and
    no actual. The readings arrive; the server's DR loop measures the intervals and publishes
    them (``dr_event.performance``), and the open page draws them and updates its figures from
    that message: no reload, no timer (a marker set in the page survives)."""
    dashboard, _ = server
    http = api(dashboard)
    site = http.post("/sites", json={"name": "DR live office", "timezone": "Europe/Rome"}).json()
    meter = http.post("/assets", json={"site_id": site["id"], "name": "Live meter",
                                       "kind": "meter", "role": "consumer"}).json()  # fmt: skip
    start, end = _live_window(now_ms())
    _history(dashboard, meter["id"], start)
    event = _event(dashboard, site["id"], start, end, 20.0)
    await log_in(page, dashboard.url, "viewer", f"/dr/{event}")
    await expect(page.get_by_test_id("status-active")).to_be_visible(timeout=20_000)
    assert dict(await _plotted(page))["Actual"] == 0
    await expect(page.get_by_test_id("kpi-dr-mean-value")).to_have_text("\u2013")
    await page.evaluate("window.__kept = 42")
    ended = min(end, now_ms() // QUARTER * QUARTER)
    readings = [{"asset": meter["id"], "metric": "power_kw", "ts": int(t), "value": 50.0}
                for t in range(start, ended + 1, QUARTER)]  # fmt: skip
    assert http.post("/telemetry", json={"readings": readings}).status_code == 200
    assert await _actual_points(page, 1) >= 1
    await expect(page.get_by_test_id("kpi-dr-mean-value")).not_to_have_text("\u2013")
    await expect(page.get_by_test_id("kpi-dr-performance-value")).to_contain_text("%")
    await expect(page.get_by_test_id("kpi-dr-performance")).to_contain_text("so far")
    assert await page.evaluate("window.__kept") == 42  # updated in place
    await shot(page, "dr-event-live")


async def test_the_cancel_button_works_after_a_live_update(server, page):
    """The operator's page of an active event gets its measured intervals from the bus (the
    figures change in place); then the cancel button, made once by the page, still answers:
    the event is cancelled (checked through the API) and the page shows it without reloading
    (its cancel button hidden, the chart still drawn)."""
    dashboard, _ = server
    http = api(dashboard)
    site = http.post("/sites", json={"name": "DR live cancel", "timezone": "Europe/Rome"}).json()
    meter = http.post("/assets", json={"site_id": site["id"], "name": "Cancel meter",
                                       "kind": "meter", "role": "consumer"}).json()  # fmt: skip
    start, end = _live_window(now_ms())
    _history(dashboard, meter["id"], start)
    event = _event(dashboard, site["id"], start, end, 20.0)
    await log_in(page, dashboard.url, "operator", f"/dr/{event}")
    await expect(page.get_by_test_id("status-active")).to_be_visible(timeout=20_000)
    await expect(page.get_by_test_id("kpi-dr-mean-value")).to_have_text("\u2013")
    await page.evaluate("window.__kept = 7")
    ended = min(end, now_ms() // QUARTER * QUARTER)
    readings = [{"asset": meter["id"], "metric": "power_kw", "ts": int(t), "value": 50.0}
                for t in range(start, ended + 1, QUARTER)]  # fmt: skip
    assert http.post("/telemetry", json={"readings": readings}).status_code == 200
    assert await _actual_points(page, 1) >= 1
    await expect(page.get_by_test_id("kpi-dr-mean-value")).not_to_have_text("\u2013")
    await settled(page)
    await page.get_by_test_id("dr-cancel").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id("status-cancelled")).to_be_visible(timeout=15_000)
    assert _status(dashboard, event) == "cancelled"
    await expect(page.get_by_test_id("dr-cancel")).to_be_hidden()
    assert dict(await _plotted(page))["Actual"] >= 1
    assert await page.evaluate("window.__kept") == 7  # no reload


async def test_an_operator_creates_and_cancels_a_test_event(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "operator", "/dr")
    await page.get_by_test_id("dr-create").click()
    # the form slides open: a field focused meanwhile scrolls the clipping wrapper, which moved
    # the button between the mouse's press and release on a busy machine (no click at all)
    await expect(page.get_by_test_id("dr-new-target")).to_be_visible()
    await settled(page)
    await page.get_by_test_id("dr-new-target").fill("-3")
    await page.get_by_test_id("dr-new-save").click()  # refused, with the reason beside the field
    field = page.locator(".q-field", has=page.get_by_test_id("dr-new-target"))
    await expect(field).to_contain_text("greater than", timeout=15_000)  # a busy CI machine
    await page.get_by_test_id("dr-new-target").fill("12")
    start = _within_a_local_day(30 * 60_000, 60 * 60_000)  # the form rounds up to the quarter
    await page.get_by_test_id("dr-new-starts").fill(str((start - now_ms()) // 60_000))
    await page.get_by_test_id("dr-new-save").click()
    await expect(page.get_by_text("Event created")).to_be_visible()
    events = api(dashboard).get("/dr-events", params={"site_id": ids["site"]}).json()
    made = next(e for e in events if e["target_reduction_kw"] == 12.0)
    assert made["status"] == "scheduled" and made["created_by"].startswith("user:")
    card = page.get_by_test_id("dr-upcoming").get_by_test_id(f"dr-event-{made['id']}")
    await expect(card).to_be_visible()
    await shot(page, "dr-created")

    await card.get_by_test_id("dr-event-link").click()
    await page.get_by_test_id("dr-cancel").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id("status-cancelled")).to_be_visible()
    assert _status(dashboard, made["id"]) == "cancelled"
    # the refresh updated the chart in place: the baseline and target are still drawn
    assert await _plotted(page) == [["Baseline", 5], ["Target load", 5], ["Actual", 0]]
    assert _status(dashboard, ids["upcoming"]) == "scheduled"


async def test_a_viewer_cannot_create_or_cancel(server, page):
    dashboard, ids = server
    await log_in(page, dashboard.url, "viewer", f"/dr/{ids['upcoming']}")
    await expect(page.get_by_test_id("status-scheduled")).to_be_visible()
    await expect(page.get_by_test_id("dr-cancel")).to_have_count(0)
    await page.goto(f"{dashboard.url}/dr/999999")
    await expect(page.get_by_test_id("dr-missing")).to_contain_text("No DR event 999999")
    # the server refuses too: the API the page's services back
    refused = api(dashboard, "viewer").post(f"/dr-events/{ids['upcoming']}/cancel")
    assert refused.status_code == 403
    assert _status(dashboard, ids["upcoming"]) == "scheduled"


async def test_on_a_phone_nothing_scrolls_sideways(server, phone):
    dashboard, ids = server
    await log_in(phone, dashboard.url, "operator", "/dr")
    await expect(phone.get_by_test_id("dr-upcoming")).to_be_visible()
    await phone.get_by_test_id("dr-create").click()
    await expect(phone.get_by_test_id("dr-new-save")).to_be_visible()
    await no_sideways_scroll(phone)
    await shot(phone, "dr-list-phone")
    await phone.goto(f"{dashboard.url}/dr/{ids['past']}")
    await expect(phone.get_by_test_id("dr-chart").locator("canvas")).to_have_count(1)
    await no_sideways_scroll(phone)
    await shot(phone, "dr-event-phone")
