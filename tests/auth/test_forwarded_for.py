"""``X-Forwarded-For`` counts only from configured proxies (``GRIDPILOT_TRUSTED_PROXIES``, #13).

Against a real ``gridpilot serve``: the client address comes from uvicorn, which by its own
default would believe the header from any process on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.web.dashboard_server import dashboard_server

from gridpilot.cli.main import trusted_proxies
from gridpilot.core.settings import Settings

LIMIT = {"auth_rate_limit_per_min": "3", "web_enabled": "false"}


def _statuses(url: str, forwarded_for: list[str]) -> list[int]:
    form = {"grant_type": "password", "username": "nobody", "password": "wrong-password"}
    return [
        httpx.post(
            f"{url}/api/v1/auth/token", data=form, headers={"X-Forwarded-For": address}
        ).status_code
        for address in forwarded_for
    ]


def test_a_forged_forwarded_for_does_not_escape_the_limit(tmp_path: Path):
    with dashboard_server(tmp_path, **LIMIT) as server:
        spoofed = _statuses(server.url, [f"198.51.100.{i}" for i in range(1, 5)])
    assert spoofed == [400, 400, 400, 429]


def test_a_trusted_proxy_forwards_the_client_address(tmp_path: Path):
    with dashboard_server(tmp_path, trusted_proxies="127.0.0.1", **LIMIT) as server:
        clients = _statuses(server.url, [f"198.51.100.{i}" for i in range(1, 5)])
        one_client = _statuses(server.url, ["203.0.113.7"] * 4)
    assert clients == [400, 400, 400, 400]
    assert one_client == [400, 400, 400, 429]


def test_no_proxy_is_trusted_by_default():
    assert trusted_proxies(Settings()) == ""
    assert trusted_proxies(Settings(trusted_proxies=" 10.0.0.1 , 10.1.0.0/16,")) == (
        "10.0.0.1,10.1.0.0/16"
    )
