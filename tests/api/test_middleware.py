"""Request id: a sane incoming X-Request-ID is echoed, anything else is replaced by a fresh one."""

from __future__ import annotations

import re

import pytest
from tests.api.ops_probe import add_probe_route

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_incoming_request_id_is_echoed(client):
    response = await client.get("/health", headers={"X-Request-ID": "lb-7f3a:0001_x.y"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "lb-7f3a:0001_x.y"


async def test_request_id_is_generated_when_missing(client):
    first = await client.get("/health")
    second = await client.get("/health")
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("bad", ["has space", "x" * 129, 'quote"s', "new\\nline", "é"])
async def test_unsafe_request_id_is_replaced(client, bad):
    response = await client.get("/health", headers={"X-Request-ID": bad.encode()})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


async def test_error_responses_carry_the_request_id(app, client):
    add_probe_route(app)
    unauthenticated = await client.get("/api/v1/ops-probe/1", headers={"X-Request-ID": "abc"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["x-request-id"] == "abc"
    missing = await client.get("/no/such/path", headers={"X-Request-ID": "def"})
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == "def"
