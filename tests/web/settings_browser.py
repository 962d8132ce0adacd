"""What the settings pages' browser tests share: a page that fails the test on a console error
or a CSP violation, log-in, screenshots light/dark/phone, the sideways-scroll check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect
from tests.web.dashboard_server import PASSWORD, Dashboard

from gridpilot.core.timestamps import now_ms

SCREENSHOTS = Path("test-output/screenshots")


async def watched_page(browser: Browser, width: int = 1280) -> AsyncIterator[Page]:
    """A page in a fresh context; afterwards, no console error and no CSP violation."""
    phone = width < 600
    context = await browser.new_context(
        viewport={"width": width, "height": 844 if phone else 900}, is_mobile=phone
    )
    opened = await context.new_page()
    problems: list[str] = []
    opened.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    opened.on("pageerror", lambda e: problems.append(str(e)))
    yield opened
    await context.close()
    assert not problems, f"console errors or CSP violations: {problems}"


async def fonts_in(page: Page) -> None:
    """Every web font of the page loaded. Until then a font swap (the icon font replacing the
    icons' names, Roboto replacing the fallback) moves buttons: on a busy machine a click landed
    beside the button it was aimed at, between Playwright's hit test and the click."""
    await page.wait_for_function("document.fonts.status === 'loaded'")


async def log_in(page: Page, url: str, username: str, then: str) -> None:
    await page.goto(f"{url}/login?redirect_to={then}")
    await expect(page.get_by_test_id("username")).to_be_visible()
    await fonts_in(page)
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("login").click()
    await expect(page).to_have_url(f"{url}{then}", timeout=30_000)  # a busy CI machine
    await fonts_in(page)


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


async def dark(page: Page) -> None:
    """Dark mode on (it is remembered per browser) and the page reloaded."""
    await page.get_by_test_id("dark-toggle").click()
    await page.reload()
    await expect(page.locator("body.body--dark")).to_have_count(1)
    await fonts_in(page)


async def settled(page: Page) -> None:
    """No Quasar transition still running: a dialog fading in, an expansion sliding open or shut
    (Quasar's slide transition gives the content itself an inline height and ``overflow-y:
    hidden`` until it is done; a field focused meanwhile scrolls that clipped content, which
    moves the buttons under it)."""
    await expect(page.locator("[class*='-enter-active']")).to_have_count(0)
    await page.wait_for_function(
        "[...document.querySelectorAll('.q-expansion-item__content')]"
        ".every(e => !e.style.height && !e.style.overflowY)"
    )


def api(server: Dashboard, user: str = "admin") -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=server.token(user), timeout=30)


def seed(server: Dashboard) -> dict[str, int]:
    """Two sites (one with two assets to delete), a meter with a reading, three users."""
    server.add_user("admin", "administrator")
    http = api(server)
    plant = http.post("/sites", json={"name": "Settings plant", "timezone": "Europe/Rome"}).json()
    doomed = http.post("/sites", json={"name": "Old depot", "timezone": "UTC"}).json()
    meter = http.post(
        "/assets", json={"site_id": plant["id"], "name": "Main meter", "kind": "meter"}
    ).json()
    for name in ("Depot meter", "Depot PV"):
        kind = "solar_pv" if "PV" in name else "meter"
        made = http.post("/assets", json={"site_id": doomed["id"], "name": name, "kind": kind})
        assert made.status_code == 201, made.text
    reading = {"asset": meter["id"], "metric": "power_kw", "ts": now_ms(), "value": 1234.5}
    assert http.post("/telemetry", json={"readings": [reading]}).status_code == 200
    server.add_user("viewer", "viewer")
    server.add_user("operator", "operator")
    return {"plant": plant["id"], "doomed": doomed["id"], "meter": meter["id"]}
