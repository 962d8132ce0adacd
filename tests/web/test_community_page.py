"""The energy community page (issue #18 item 7) in headless Chromium against a real serve of
the demo's data (``gridpilot demo --no-serve --days 1``): the admin sees every member, the
hourly shared-energy charts and the settlement whose GSE estimate is the API's; the demo's
member user sees only their own membership, part and statement. Screenshots light, dark and a
390 px phone; no console error, no CSP violation."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.cli.test_demo import demo_env
from tests.web.dashboard_server import PASSWORD, Dashboard, dashboard_server
from tests.web.settings_browser import dark, log_in, no_sideways_scroll, shot, watched_page

from gridpilot.web.community_view import euros

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    data = tmp_path_factory.mktemp("community")
    subprocess.run(
        [sys.executable, "-m", "gridpilot.cli", "demo", "--no-serve", "--days", "1"],
        env=demo_env(data), capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    with dashboard_server(data) as dashboard:
        for name in ("admin", "member"):
            dashboard.cli("user", "set-password", name, "--password-stdin", stdin=PASSWORD)
        api = httpx.Client(base_url=dashboard.url, headers=dashboard.token("admin"), timeout=30)
        (cer,) = api.get("/api/cer").json()["data"]
        (settlement,) = api.get(f"/api/v1/communities/{cer['id']}/settlements").json()
        yield dashboard, {"community": cer, "settlement": settlement}


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser):
        yield opened


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async for opened in watched_page(browser, width=390):
        yield opened


async def _chart_series(page: Page, test_id: str) -> dict[str, int]:
    """The number of known points per series of a chart, from its ECharts instance."""
    await expect(page.get_by_test_id(test_id).locator("canvas")).to_have_count(1)
    return await page.evaluate(
        """(testId) => {
            const el = document.querySelector(`[data-testid="${testId}"]`);
            const option = getElement(el).chart.getOption();
            return Object.fromEntries(option.series.map(
                (s) => [s.name, s.data.filter((v) => v !== null && v > 0).length]));
        }""",
        test_id,
    )


async def test_admin_sees_members_shared_energy_and_the_apis_settlement(server, page):
    dashboard, seeded = server
    cer, settlement = seeded["community"], seeded["settlement"]
    await log_in(page, dashboard.url, "admin", "/sites")
    await page.get_by_role("link", name="Community").click()
    await expect(page).to_have_url(f"{dashboard.url}/community/{cer['id']}")  # the only one
    await expect(page.get_by_test_id("member-table").locator("tbody tr")).to_have_count(20)
    await expect(page.get_by_test_id("kpi-pods-value")).to_have_text("20")
    await page.get_by_test_id("energy-period").get_by_text("Last 24 h").click()
    await expect(page.get_by_test_id("energy-note")).to_contain_text(
        # the period leads the note: "Today" at 00:15 has the same coverage, so waiting on the
        # coverage alone read the charts before they were redrawn for the last 24 hours
        re.compile(r"^Last 24 h: .*AC001E00345: .*coverage (9\d|100) %")
    )
    for substation in cer["primary_substations"]:
        series = await _chart_series(page, f"shared-chart-{substation}")
        assert set(series) == {"Injected", "Withdrawn", "Shared"}
        # the demo's last 24 hours hold a day: withdrawals every hour, sharing around noon
        assert series["Withdrawn"] >= 20 and series["Shared"] > 0, series
    axis = await page.evaluate(
        """() => getElement(document.querySelector('[data-testid^="shared-chart-"]'))
            .chart.getOption().xAxis[0].name"""
    )
    assert "Europe/Rome" in axis
    estimate = euros(Decimal(settlement["gse_estimate_eur"]))
    await expect(page.get_by_test_id("kpi-gse-value")).to_have_text(estimate)
    assert estimate.startswith("\u20ac") and estimate[-3] == "."
    parts = page.get_by_test_id("distribution-table").locator("tbody tr")
    await expect(parts).to_have_count(len(settlement["members"]))
    member = settlement["members"][0]["member_id"]
    async with page.expect_download() as download:
        await page.get_by_test_id(f"statement-csv-{member}").click()
    saved = await (await download.value).path()
    api = httpx.get(
        f"{dashboard.url}/api/v1/communities/{cer['id']}/settlements/{settlement['id']}"
        f"/statements/{member}.csv",
        headers=dashboard.token("admin"),
    )
    assert Path(saved).read_text() == api.text
    await shot(page, "community-admin")
    await page.get_by_test_id("energy-period").get_by_text("This month").click()
    await expect(page.get_by_test_id("energy-note")).to_contain_text("coverage")
    await shot(page, "community-admin-month")
    await dark(page)
    await expect(page.get_by_test_id("kpi-gse-value")).to_have_text(estimate)
    await shot(page, "community-admin-dark")


async def test_a_member_sees_only_their_own(server, page):
    dashboard, seeded = server
    cer = seeded["community"]
    await log_in(page, dashboard.url, "member", f"/community/{cer['id']}")
    await expect(page.get_by_test_id("member-table").locator("tbody tr")).to_have_count(1)
    await expect(page.get_by_test_id("member-table")).to_contain_text("Household 01")
    await expect(page.get_by_test_id("kpi-own-pods-value")).to_have_text("1")
    await expect(page.get_by_test_id("kpi-pods-value")).to_have_text("20")  # an aggregate
    parts = page.get_by_test_id("distribution-table").locator("tbody tr")
    await expect(parts).to_have_count(1)
    await expect(parts).to_contain_text("Household 01")
    mine = httpx.get(
        f"{dashboard.url}/api/v1/communities/{cer['id']}/settlements/{seeded['settlement']['id']}",
        headers=dashboard.token("member"),
    ).json()
    (part,) = mine["members"]
    await expect(parts).to_contain_text(euros(Decimal(part["total_eur"])))
    await shot(page, "community-member")
    await page.goto(f"{dashboard.url}/community/999999")
    await expect(page.get_by_text("There is no community 999999 you may see.")).to_be_visible()


async def test_the_community_page_fits_a_phone(server, phone):
    dashboard, seeded = server
    await log_in(phone, dashboard.url, "admin", f"/community/{seeded['community']['id']}")
    await expect(phone.get_by_test_id("kpi-gse-value")).to_be_visible()
    await no_sideways_scroll(phone)
    await shot(phone, "community-phone")


async def test_admin_sees_the_closed_month_the_year_and_pays_a_ledger_line(server, page):
    dashboard, seeded = server
    cer, settlement = seeded["community"], seeded["settlement"]
    assert settlement["status"] == "closed"  # the demo closes its last complete month
    api = httpx.Client(base_url=dashboard.url, headers=dashboard.token("admin"), timeout=30)
    await log_in(page, dashboard.url, "admin", f"/community/{cer['id']}")
    await expect(page.get_by_test_id("settlement-title")).to_contain_text(": closed")
    await expect(page.get_by_test_id("settlement-run")).to_be_visible()
    year = api.get(f"/api/v1/communities/{cer['id']}/years/{settlement['year']}").json()
    assert year["gse_estimate_eur"] == settlement["gse_estimate_eur"]
    await expect(page.get_by_test_id("kpi-year-gse-value")).to_have_text(
        euros(Decimal(year["gse_estimate_eur"]))
    )
    await expect(page.get_by_test_id("year-table").locator("tbody tr")).to_have_count(
        min(len(year["members"]), 25)
    )
    ledger = api.get("/api/economic/transactions", params={"community": cer["id"],
                                                            "per_page": 100}).json()  # fmt: skip
    rows = page.get_by_test_id("ledger-table").locator("tbody tr")
    await expect(rows).to_have_count(min(ledger["meta"]["total"], 25))
    line = next(
        t for t in ledger["data"]
        if t["transaction_type"] == "BENEFIT_DISTRIBUTION" and t["status"] == "PENDING"
    )  # fmt: skip
    await page.get_by_test_id(f"ledger-processed-{line['id']}").click()
    await page.get_by_test_id("ledger-reference").fill("TRN-DEMO-1")
    await page.get_by_test_id("ledger-save").click()
    await expect(page.get_by_test_id("ledger-table")).to_contain_text("TRN-DEMO-1")
    history = api.get(f"/api/economic/transactions/{line['id']}/history").json()["data"]
    assert [(e["to_status"], e["payment_reference"]) for e in history] == [
        ("PROCESSED", "TRN-DEMO-1")
    ]
    await expect(page.get_by_test_id(f"ledger-processed-{line['id']}")).to_have_count(0)
    await shot(page, "community-admin-ledger")


async def test_a_member_sees_their_ledger_lines_and_no_actions(server, page):
    dashboard, seeded = server
    cer = seeded["community"]
    mine = httpx.get(
        f"{dashboard.url}/api/economic/transactions",
        params={"community": cer["id"], "per_page": 100},
        headers=dashboard.token("member"),
    ).json()
    await log_in(page, dashboard.url, "member", f"/community/{cer['id']}")
    rows = page.get_by_test_id("ledger-table").locator("tbody tr")
    await expect(rows).to_have_count(mine["meta"]["total"])
    await expect(page.get_by_test_id("year-table").locator("tbody tr")).to_have_count(1)
    await expect(page.get_by_test_id("settlement-run")).to_have_count(0)
    await expect(page.get_by_role("button", name="Paid")).to_have_count(0)
