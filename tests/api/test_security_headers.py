"""Every answer carries the security headers; the API's load nothing, the docs keep their own
policy, HSTS only over HTTPS (#20, HTTP hardening)."""

from __future__ import annotations

import httpx

from gridpilot.api.security_headers import dashboard_policy


def assert_common(headers: httpx.Headers) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["permissions-policy"]


async def test_api_answers_and_errors_load_nothing_and_cannot_be_framed(client, auth_headers):
    headers = await auth_headers("viewer")
    for response in (
        await client.get("/api/v1/sites", headers=headers),
        await client.get("/api/v1/sites"),  # 401
        await client.get("/api/v1/no-such-thing", headers=headers),  # 404
        await client.get("/health"),
    ):
        assert_common(response.headers)
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_the_api_docs_keep_their_own_policy(client):
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert_common(docs.headers)
    assert "default-src 'none'" not in docs.headers["content-security-policy"]
    assert len(docs.headers.get_list("content-security-policy")) == 1


async def test_https_answers_pin_https(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as tls:
        response = await tls.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_configured_map_tile_server_may_serve_the_dashboards_images():
    policy = dashboard_policy("https://tiles.example.org/{z}/{x}/{y}.png").decode()
    assert "img-src 'self' data: blob: https://tiles.example.org;" in policy
    assert "img-src 'self' data: blob:;" in dashboard_policy(None).decode()
