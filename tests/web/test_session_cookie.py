"""The dashboard's session cookie is Secure whenever users reach it over TLS (#13, finding 9)."""

from __future__ import annotations

import httpx
import pytest
from tests.web.dashboard_server import dashboard_server


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookie_flags(tmp_path, secure):
    settings = {"web_secure_cookie": "true"} if secure else {}
    with dashboard_server(tmp_path, **settings) as dashboard:
        response = httpx.get(f"{dashboard.url}/login", timeout=30)
    assert response.status_code == 200
    cookie = response.headers.get("set-cookie", "").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert ("; secure" in cookie) is secure
    # the dashboard's pages: only gridpilot's own scripts and sockets, never framed
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
