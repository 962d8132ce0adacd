"""Dashboard log-in security in headless Chromium against `gridpilot serve` (#13).

Tokens stay in the server's memory (no file under the data directory holds one), the data
directory is private, log-out revokes the refresh token, and the log-in page is limited per
client and per account like the token endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.web.dashboard_server import PASSWORD, Dashboard, dashboard_server
from tests.web.settings_browser import fonts_in

pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, expect

#: A raw refresh token (32 random bytes, URL-safe base64) or a JWT, wherever it may hide.
TOKEN_LIKE = re.compile(rb"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
JWT_LIKE = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, Path]]:
    data = tmp_path_factory.mktemp("dashboard-login")
    limits = {"login_max_failures": "3", "login_lockout_s": "600"}
    with dashboard_server(data, **limits) as dashboard:
        dashboard.add_user("admin", "administrator")
        dashboard.add_user("ann", "viewer")
        yield dashboard, data


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


async def _log_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{url}/login")
    await expect(page.get_by_test_id("username")).to_be_visible()
    await fonts_in(page)
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("login").click()


def _refresh_hashes(data: Path, username: str) -> dict[str, str | None]:
    """token_hash -> revoked_at of the user's refresh tokens, read from the SQLite file."""
    with sqlite3.connect(f"file:{data / 'gridpilot.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT t.token_hash, t.revoked_at FROM refresh_tokens t "
            "JOIN users u ON u.id = t.user_id WHERE u.username = ?",
            (username,),
        ).fetchall()
    return dict(rows)


def _files(data: Path) -> list[Path]:
    """What the server keeps in its data directory (not the test's own server log)."""
    return [p for p in data.rglob("*") if p.is_file() and p.name != "serve.log"]


async def test_tokens_never_reach_a_file_and_log_out_revokes_them(server, page):
    dashboard, data = server
    await _log_in(page, dashboard.url, "admin")
    await expect(page.get_by_test_id("logout")).to_be_visible()
    await page.get_by_test_id("dark-toggle").click()  # something NiceGUI does store per browser
    await asyncio.sleep(1.0)  # NiceGUI writes its storage files in the background
    hashes = _refresh_hashes(data, "admin")
    assert len(hashes) == 1 and None in hashes.values()
    assert any(p.name.startswith("storage-user-") for p in _files(data))
    for path in _files(data):
        content = path.read_bytes()
        assert not JWT_LIKE.search(content), f"an access token in {path}"
        for candidate in TOKEN_LIKE.findall(content):
            digest = hashlib.sha256(candidate).hexdigest()
            assert digest not in hashes, f"the refresh token in {path}"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.rglob("*"):
        if path.name != "serve.log":
            expected = 0o700 if path.is_dir() else 0o600
            assert stat.S_IMODE(path.stat().st_mode) == expected, path
    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("username")).to_be_visible()
    deadline = time.monotonic() + 10
    while None in _refresh_hashes(data, "admin").values() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert None not in _refresh_hashes(data, "admin").values(), "log-out left a token valid"


async def test_repeated_failures_lock_the_account_even_for_the_right_password(server, page):
    dashboard, _ = server
    error = page.get_by_test_id("login-error")
    for _ in range(2):
        await _log_in(page, dashboard.url, "ann", "not the password")
        await expect(error).to_contain_text("Wrong username or password")
    await _log_in(page, dashboard.url, "ann", "not the password")
    await expect(error).to_contain_text("locked for 10 more minutes")
    await _log_in(page, dashboard.url, "ann")
    await expect(error).to_contain_text("locked")
    await expect(page.get_by_test_id("logout")).to_have_count(0)


async def test_the_log_in_page_is_limited_per_client(tmp_path, page):
    with dashboard_server(tmp_path, login_rate_limit_per_min="3") as dashboard:
        dashboard.add_user("admin", "administrator")
        error = page.get_by_test_id("login-error")
        for _ in range(3):
            await _log_in(page, dashboard.url, "admin", "not the password")
            await expect(error).to_contain_text("Wrong username or password")
        await _log_in(page, dashboard.url, "admin")  # the right password, one attempt too many
        await expect(error).to_contain_text("Too many log-in attempts")
        await expect(page.get_by_test_id("logout")).to_have_count(0)
