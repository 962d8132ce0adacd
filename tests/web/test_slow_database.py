"""Pages answer with their frame while the database is slow, and fill in when it answers.

A real ``gridpilot serve`` on PostgreSQL, in Debian's headless Chromium. Another connection
holds an ACCESS EXCLUSIVE lock on the sites and assets tables (every page's data reads them)
for longer than NiceGUI's response_timeout (3 s): a page that read the database before it
answered was a 500 page ("the page took longer than the response_timeout"); now each answers
200 with its frame at once and shows its data once the lock is gone. PostgreSQL only: SQLite's
WAL lets readers through any writer's lock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server
from tests.web.settings_browser import api, log_in

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

pytestmark = pytest.mark.postgres
#: NiceGUI's response_timeout [s]: the lock is held longer than this.
RESPONSE_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[tuple[Dashboard, dict[str, int]]]:
    with dashboard_server(tmp_path_factory.mktemp("slow"), database_url=postgres_url) as server:
        server.add_user("admin", "administrator")
        http = api(server)
        site = http.post("/sites", json={"name": "Slow plant", "timezone": "Europe/Rome"}).json()
        meter = http.post(
            "/assets", json={"site_id": site["id"], "name": "Slow meter", "kind": "meter"}
        ).json()
        yield server, {"site": site["id"], "asset": meter["id"]}


def _pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """(path, the heading the page shows once its data is in)."""
    site, asset = ids["site"], ids["asset"]
    return [
        (f"/assets/{asset}", "Slow meter"),
        (f"/sites/{site}", "Slow plant"),
        ("/sites", "Sites"),
        ("/dr", "Demand response"),
        ("/kpis", "KPIs"),
        ("/reports", "Reports"),
        ("/schedules", "Schedules"),
        ("/groups", "Groups"),
        ("/baselines", "Energy baselines (ISO 50001)"),
        ("/alerts", "Alerts"),
        ("/settings/sites", "Sites and assets"),
        (f"/settings/sites/{site}", "Slow plant: assets"),
        (f"/settings/assets/{asset}", "Slow meter"),
        ("/settings/tariffs", "Tariffs"),
        ("/settings/flex", "Flexible resources"),
        ("/forecast", "Site forecast"),
    ]


async def _opened(page: Page, url: str) -> int:
    answer = await page.goto(url, wait_until="commit", timeout=30_000)
    assert answer is not None
    return answer.status


async def test_pages_answer_at_once_while_the_database_is_locked(server, browser: Browser):
    dashboard, ids = server
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    first = await context.new_page()
    await log_in(first, dashboard.url, "admin", "/settings")
    pages = [first, *[await context.new_page() for _ in _pages(ids)[1:]]]
    locker = await asyncpg.connect(dashboard.env["GRIDPILOT_DATABASE_URL"])
    try:
        lock = locker.transaction()
        await lock.start()
        await locker.execute("LOCK TABLE sites, assets IN ACCESS EXCLUSIVE MODE")
        statuses = await asyncio.gather(
            *(
                _opened(p, f"{dashboard.url}{path}")
                for p, (path, _) in zip(pages, _pages(ids), strict=True)
            )
        )
        await asyncio.sleep(RESPONSE_TIMEOUT_S + 1)  # past NiceGUI's timeout, still locked
        answered = {path: s for (path, _), s in zip(_pages(ids), statuses, strict=True)}
        assert answered == {path: 200 for path, _ in _pages(ids)}
        for page in pages:  # the frame is drawn and no page was replaced by an error page
            await expect(page.locator(".q-header")).to_be_visible()
            await expect(page.get_by_text("response_timeout")).to_have_count(0)
        await lock.rollback()
    finally:
        await locker.close()
    for page, (path, heading) in zip(pages, _pages(ids), strict=True):
        await expect(page.get_by_test_id("page-title"), path).to_have_text(heading, timeout=30_000)
    await context.close()
