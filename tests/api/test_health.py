"""``/health`` answers without authentication and reports the database."""

from __future__ import annotations


async def test_health_reports_database(client, backend):
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["backend"] == ("sqlite" if backend == "sqlite" else "postgresql")


async def test_api_requires_authentication(client):
    response = await client.get("/api/v1/sources")
    assert response.status_code in (401, 404)
