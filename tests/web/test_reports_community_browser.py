"""The reports page's community form in Debian's headless Chromium against `gridpilot serve`:
an administrator picks a community, the community kinds and the member field appear, and the
saved report's preview shows last month's settlement (every member's part, then one member's);
dark and phone screenshots in ``test-output/screenshots/``. The community and its settlement
are the ones ``tests/community/test_settlements.py`` works out by hand (Carl: 15.67 EUR)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.community.test_settlements import settle, settlement_community
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import log_in

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

SCREENSHOTS = Path("test-output/screenshots")


async def _seed(server: Dashboard) -> dict:
    """The SETTLE community with last month's settlement run (a draft)."""
    server.add_user("admin", "administrator")
    headers = server.token("admin")

    async def person(_role: object) -> tuple[None, dict[str, str]]:
        return None, {}  # no member logs in here

    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        cer = await settlement_community(client, headers, person)
        _, settlement = await settle(client, headers, cer["id"])
    totals = {p["member_id"]: p["total_eur"] for p in settlement["members"]}
    return {**cer, "totals": totals}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict]]:
    with dashboard_server(tmp_path_factory.mktemp("reports-community")) as dashboard:
        yield dashboard, asyncio.run(_seed(dashboard))


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    yield opened
    await context.close()


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def _community_form(page: Page, name: str) -> None:
    """Fill the form for a community statement of the SETTLE community."""
    await expect(page.get_by_test_id("report-member")).to_be_hidden()  # a site's kinds
    await page.get_by_test_id("report-name").fill(name)
    await page.get_by_test_id("report-target").click()
    await page.get_by_role("option", name="Community", exact=True).click()
    await expect(page.get_by_test_id("report-site")).to_be_hidden()
    await expect(page.get_by_test_id("report-community")).to_contain_text("CER SETTLE")
    await expect(page.get_by_test_id("report-kind")).to_contain_text("Community statements")
    await expect(page.get_by_test_id("report-member")).to_be_visible()


async def test_a_communitys_statements_from_the_form(server, page):
    dashboard, cer = server
    carl = cer["members"]["carl"]
    await log_in(page, dashboard.url, "admin", "/reports")
    await _community_form(page, "CER statements")
    await page.get_by_test_id("report-create").click()
    title = page.get_by_test_id("preview-title")
    await expect(title).to_contain_text(
        "Community statements: community CER SETTLE", timeout=20_000
    )
    members = page.get_by_test_id("preview-table-members")
    await expect(members).to_contain_text("Carl")
    await expect(members.locator("tr", has_text="Carl")).to_contain_text(cer["totals"][carl])
    for name in ("Ann", "Bob", "Dora"):
        await expect(members).to_contain_text(name)
    await _shot(page, "reports-community")
    await page.get_by_test_id("dark-toggle").click()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await _shot(page, "reports-community-dark")
    await page.get_by_test_id("dark-toggle").click()


async def _fully_shown(field) -> None:
    """The field's label is not cut (no ellipsis) and the field lies within its card."""
    label = field.locator(".q-field__label")
    await expect(label).to_be_visible()
    cut = await label.evaluate("e => e.scrollWidth > e.clientWidth")
    assert not cut, f"the label {await label.inner_text()!r} is cut off"
    box = await field.bounding_box()
    card = await field.page.get_by_test_id("report-form").bounding_box()
    assert box and card and card["x"] <= box["x"], (box, card)
    assert box["x"] + box["width"] <= card["x"] + card["width"], (box, card)


async def _pick(page: Page, test_id: str, option: str) -> None:
    await page.get_by_test_id(test_id).click()
    await page.get_by_role("option", name=option, exact=True).click()


async def test_one_members_statement_picked_by_name_and_a_phone(server, page, browser):
    dashboard, cer = server
    carl = cer["members"]["carl"]
    await log_in(page, dashboard.url, "admin", "/reports")
    await _community_form(page, "Carl's statement")
    member = page.get_by_test_id("report-member")
    await expect(member).to_contain_text("Every member")  # the default: every member
    await member.click()
    offered = page.get_by_role("option")
    await expect(offered).to_have_text(
        [
            "Every member",
            "Ann \u00b7 POD IT001E00000001",
            "Bob \u00b7 POD IT001E00000010",
            "Carl \u00b7 POD IT001E00000011",
            "Dora \u00b7 POD IT001E00000012",
        ]
    )
    await page.get_by_role("option", name="Carl \u00b7 POD IT001E00000011").click()
    await expect(member).to_contain_text("Carl \u00b7 POD IT001E00000011")
    await page.get_by_test_id("report-create").click()
    preview = page.get_by_test_id("preview")
    await expect(preview).to_contain_text(f"Carl (member {carl})", timeout=20_000)
    await expect(preview).to_contain_text(f"{cer['totals'][carl]}")
    await expect(page.get_by_test_id("preview-table-members")).to_have_count(0)
    await expect(preview).not_to_contain_text("Ann (member")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = await context.new_page()
    try:
        await log_in(phone, dashboard.url, "admin", "/reports")
        await _pick(phone, "report-target", "Community")
        await expect(phone.get_by_role("option")).to_have_count(0)  # the menu has closed
        for test_id in ("report-community", "report-kind", "report-schedule", "report-member"):
            field = phone.locator("label.q-field").filter(has=phone.get_by_test_id(test_id))
            await _fully_shown(field)
        await _pick(phone, "report-member", "Dora \u00b7 POD IT001E00000012")
        await expect(phone.get_by_role("option")).to_have_count(0)
        await expect(phone.get_by_test_id("report-member")).to_contain_text("Dora")
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        await _shot(phone, "reports-community-phone")
    finally:
        await context.close()
