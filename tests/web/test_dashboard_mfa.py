"""Dashboard log-in with a TOTP second factor, in headless Chromium against `gridpilot serve`
(#20 item 4): the password, then the code; a wrong code is refused with a message."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from tests.web.dashboard_server import Dashboard, dashboard_server

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, Path]]:
    data = tmp_path_factory.mktemp("dashboard-mfa")
    with dashboard_server(data) as dashboard:
        dashboard.add_user("otto", "operator")
        yield dashboard, data


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


def enrol(dashboard: Dashboard, name: str) -> str:
    """Turn the second factor on for ``name`` through the API; its secret."""
    headers = dashboard.token(name)
    started = httpx.post(f"{dashboard.url}/api/v1/users/me/mfa", headers=headers)
    started.raise_for_status()
    secret = str(started.json()["secret"])
    confirmed = httpx.post(
        f"{dashboard.url}/api/v1/users/me/mfa/confirm",
        json={"code": pyotp.TOTP(secret).now()},
        headers=headers,
    )
    confirmed.raise_for_status()
    return secret


def audit_trail(data: Path, action: str) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{data / 'gridpilot.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT outcome, detail FROM audit_events WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    return [(str(o), str(d)) for o, d in rows]


async def test_the_log_in_asks_for_the_code(server, page):
    dashboard, data = server
    secret = enrol(dashboard, "otto")
    await page.goto(f"{dashboard.url}/login")
    await page.get_by_test_id("username").fill("otto")
    await page.get_by_test_id("password").fill("correct horse battery staple")
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("mfa-code")).to_be_visible()
    await expect(page.get_by_test_id("logout")).to_have_count(0)
    await page.get_by_test_id("mfa-code").fill("12345x")
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("login-error")).to_contain_text("Wrong")
    # the step after the confirmed one: newer than any code used, inside the window
    await page.get_by_test_id("mfa-code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("logout")).to_be_visible()
    mfa = audit_trail(data, "auth.mfa")
    assert [o for o, _ in mfa] == ["failure", "success"]
    assert all("dashboard" in d for _, d in mfa)
    assert [o for o, d in audit_trail(data, "auth.login") if "dashboard" in d] == ["success"]
