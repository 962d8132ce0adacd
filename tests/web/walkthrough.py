"""A walk through every dashboard page as a user sees it: light at 1440 px, dark, and a 390 px
phone, a screenshot each in ``test-output/screenshots/walk-<page>-<mode>.png``; and the
server-side build time of every page (``GET`` with a logged-in session).

Used by ``test_walkthrough.py`` (the demo's data) and by hand against any server:

    python -m tests.web.walkthrough --url http://127.0.0.1:8000 --user admin --password ... \\
        [--shots] [--times 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

SCREENSHOTS = Path("test-output/screenshots")


@dataclass(frozen=True)
class Stop:
    """A page of the walk: its name in file names, its address, an element that shows it is
    drawn (a ``data-testid``; None: the page's frame is enough)."""

    name: str
    path: str
    ready: str | None = None


#: Every page of the dashboard, on the demo's data (site 1 the factory, 3 the solar park with
#: its battery, 5 a household of the energy community; asset 1 the factory's main meter).
PAGES = (
    Stop("overview", "/", "kpi-strip"),
    Stop("sites", "/sites"),
    Stop("site-factory", "/sites/1", "asset-table"),
    Stop("site-solar-park", "/sites/3", "asset-table"),
    Stop("site-household", "/sites/5", "asset-table"),
    Stop("asset", "/assets/1", "live-chart"),
    Stop("kpis", "/kpis?site=1"),
    Stop("forecast", "/forecast?site=1"),
    Stop("alerts", "/alerts"),
    Stop("baselines", "/baselines"),
    Stop("dr", "/dr"),
    Stop("reports", "/reports"),
    Stop("schedules", "/schedules"),
    Stop("groups", "/groups"),
    Stop("firmware", "/firmware"),
    Stop("community", "/community/1"),
    Stop("admin", "/admin"),
    Stop("notifications", "/settings/notifications"),
    Stop("settings", "/settings"),
    Stop("settings-sites", "/settings/sites"),
    Stop("settings-site", "/settings/sites/1"),
    Stop("settings-asset", "/settings/assets/1"),
    Stop("settings-rules", "/settings/alert-rules"),
    Stop("settings-channels", "/settings/channels"),
    Stop("settings-tariffs", "/settings/tariffs"),
    Stop("settings-flex", "/settings/flex?site=3"),
)
#: The three ways a user sees a page: (mode, viewport width, dark).
MODES = (("light", 1440, False), ("dark", 1440, True), ("phone", 390, False))
#: How long the page's figures take to follow over the websocket, at most [s].
SETTLE_S = 4.0


async def logged_in(browser: Browser, url: str, user: str, password: str, width: int,
                    dark: bool) -> BrowserContext:  # fmt: skip
    """A browser context logged in as ``user`` with dark mode as asked."""
    phone = width < 600
    context = await browser.new_context(
        viewport={"width": width, "height": 844 if phone else 900}, is_mobile=phone
    )
    page = await context.new_page()
    await page.goto(f"{url}/login?redirect_to=/settings")
    await page.get_by_test_id("username").fill(user)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("login").click()
    await expect(page).to_have_url(f"{url}/settings", timeout=30_000)
    is_dark = await page.locator("body.body--dark").count() == 1
    if is_dark != dark:
        await page.get_by_test_id("dark-toggle").click()
        await page.reload()
        await expect(page.locator("body.body--dark")).to_have_count(1 if dark else 0)
    await page.close()
    return context


async def visit(page: Page, url: str, stop: Stop) -> list[str]:
    """Open ``stop``; wait until it is drawn and its figures followed; return what is wrong
    that a user would see at once (a page wider than the screen)."""
    await page.goto(f"{url}{stop.path}")
    await expect(page.locator(".q-header")).to_be_visible(timeout=30_000)
    if stop.ready:
        await expect(page.get_by_test_id(stop.ready).first).to_be_visible(timeout=30_000)
    await page.wait_for_function("document.fonts.status === 'loaded'")
    await page.wait_for_timeout(SETTLE_S * 1000)
    wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return [f"{stop.name}: {wide} px wider than the screen"] if wide > 0 else []


def watch(page: Page, mode: str, problems: list[str]) -> None:
    """Console errors, CSP violations and uncaught errors of ``page`` into ``problems``."""
    page.on("pageerror", lambda e: problems.append(f"{mode}: {e}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{mode}: {msg.text}")
            if msg.type == "error" or "Content Security Policy" in msg.text
            else None
        ),
    )


async def walk(
    browser: Browser, url: str, user: str, password: str, pages: tuple[Stop, ...] = PAGES
) -> list[str]:
    """Every page in every mode, a screenshot each; the problems found (with console errors)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for mode, width, dark in MODES:
        context = await logged_in(browser, url, user, password, width, dark)
        page = await context.new_page()
        watch(page, mode, problems)
        for stop in pages:
            problems.extend(f"{mode}: {p}" for p in await visit(page, url, stop))
            path = SCREENSHOTS / f"walk-{stop.name}-{mode}.png"
            await page.screenshot(path=str(path), full_page=True)
        await context.close()
    return problems


@dataclass(frozen=True)
class Timing:
    """The ``GET``s of one page: median and slowest [ms], and the answers that were not 200."""

    median_ms: float
    max_ms: float
    failed: tuple[int, ...]


async def build_times(
    browser: Browser, url: str, user: str, password: str, runs: int = 5,
    pages: tuple[Stop, ...] = PAGES,
) -> dict[str, Timing]:  # fmt: skip
    """``runs`` ``GET``s of each page with a logged-in session: the server's build of the page
    (what follows over the websocket is not in it); every page is tried even when one fails."""
    context = await logged_in(browser, url, user, password, 1440, False)
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    await context.close()
    timings: dict[str, Timing] = {}
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as http:
        for stop in pages:
            taken, failed = [], []
            for _ in range(runs + 1):  # the first warms the caches up
                started = time.perf_counter()
                answer = await http.get(stop.path)
                taken.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    failed.append(answer.status_code)
                assert "/login" not in str(answer.url), "the session did not hold"
            timings[stop.path] = Timing(statistics.median(taken[1:]), max(taken[1:]), tuple(failed))
    return timings


async def _main(args: argparse.Namespace) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        pages = tuple(p for p in PAGES if not args.only or p.name in args.only.split(","))
        if args.shots:
            for problem in await walk(browser, args.url, args.user, args.password, pages):
                print("problem:", problem)
        if args.times:
            times = await build_times(
                browser, args.url, args.user, args.password, args.times, pages
            )
            for path, t in times.items():
                failed = f"  FAILED {t.failed}" if t.failed else ""
                print(f"{path}: median {t.median_ms:,.0f} ms, max {t.max_ms:,.0f} ms{failed}")
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--shots", action="store_true")
    parser.add_argument("--times", type=int, default=0)
    parser.add_argument("--only", default="", help="page names, comma-separated")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
