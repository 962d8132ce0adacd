"""Bodies are capped on every route, refused before they are read without credentials, must be
JSON on JSON routes, and their validation errors are answered in bounded form (#13)."""

from __future__ import annotations

import orjson
import pytest

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_HOUR, now_ms

SITES = "/api/v1/sites"
GENERAL_CAP = 10_000


@pytest.fixture
def settings_overrides():
    return {"max_request_body_bytes": GENERAL_CAP, "max_request_json_values": 1000}


class CountedBody:
    """A streamed request body that records how many of its chunks the server pulled."""

    def __init__(self, chunk: bytes, count: int, head: bytes = b"") -> None:
        self.chunk, self.count, self.head = chunk, count, head
        self.pulled = 0

    async def __aiter__(self):
        if self.head:
            self.pulled += 1
            yield self.head
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


async def site_names(client, headers):
    return sorted(s["name"] for s in (await client.get(SITES, headers=headers)).json())


async def test_no_credentials_is_401_before_any_byte_of_the_body(client, auth_headers):
    body = CountedBody(b" " * 1000, 100, head=b'{"name": "Ghost", "timezone": "UTC"}')
    response = await client.post(SITES, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body.pulled == 0
    admin = await auth_headers(Role.ADMINISTRATOR)
    assert await site_names(client, admin) == []


async def test_every_route_caps_its_body_with_a_413(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    kept = await client.post(SITES, json={"name": "Kept", "timezone": "UTC"}, headers=admin)
    assert kept.status_code == 201
    big = {"name": "Big", "timezone": "UTC", "description": "x" * 1500, "tariff": {
        f"k{i}": "v" * 100 for i in range(100)}}  # fmt: skip
    response = await client.post(SITES, json=big, headers=admin)
    assert response.status_code == 413
    length = response.request.headers["content-length"]
    assert response.json() == {
        "error": "too_large",
        "message": f"the body has {length} bytes; the limit is {GENERAL_CAP} bytes",
    }
    streamed = CountedBody(b" " * 1000, 1000, head=b'{"name": "Streamed", "timezone": "UTC"')
    response = await client.post(
        SITES, content=streamed, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert f"limit of {GENERAL_CAP} bytes" in response.json()["message"]
    assert streamed.pulled <= GENERAL_CAP // 1000 + 2
    assert await site_names(client, admin) == ["Kept"]


async def test_a_json_body_of_too_many_values_is_413(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    body = {"name": "Many", "timezone": "UTC", "tariff": {"prices": [0] * 1500}}
    response = await client.post(SITES, json=body, headers=admin)
    assert response.status_code == 413
    assert "more than 1000 values" in response.json()["message"]
    fine = {"name": "Fine", "timezone": "UTC", "tariff": {"prices": [0] * 900}}
    assert (await client.post(SITES, json=fine, headers=admin)).status_code == 201
    assert await site_names(client, admin) == ["Fine"]


async def test_bulk_ingest_routes_take_bodies_over_the_general_cap(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = (await client.post(SITES, json={"name": "S", "timezone": "UTC"}, headers=admin)).json()
    asset = {"site_id": site["id"], "name": "M", "kind": "meter"}
    meter = (await client.post("/api/v1/assets", json=asset, headers=admin)).json()["id"]
    start = now_ms() - MS_PER_HOUR
    readings = [
        {"asset": meter, "metric": "power_kw", "ts": start + i, "value": i} for i in range(300)
    ]
    body = orjson.dumps(readings)
    assert len(body) > GENERAL_CAP
    response = await client.post(
        "/api/v1/telemetry", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["stored"] == 300


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
async def test_json_routes_answer_415_for_other_content_types(client, auth_headers, content_type):
    admin = await auth_headers(Role.ADMINISTRATOR)
    headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
    body = b'{"name": "Typed", "timezone": "UTC"}'
    response = await client.post(SITES, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type"
    assert "application/json" in response.json()["message"]
    assert await site_names(client, admin) == []
    json_patch = {**admin, "Content-Type": "application/merge-patch+json; charset=utf-8"}
    assert (await client.post(SITES, content=body, headers=json_patch)).status_code == 201
    assert await site_names(client, admin) == ["Typed"]


async def test_a_route_with_an_optional_body_takes_none_without_a_content_type(
    client, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = (await client.post(SITES, json={"name": "S", "timezone": "UTC"}, headers=admin)).json()
    asset = {"site_id": site["id"], "name": "M", "kind": "meter"}
    meter = (await client.post("/api/v1/assets", json=asset, headers=admin)).json()["id"]
    response = await client.post(f"/api/v1/assets/{meter}/keys", headers=admin)
    assert response.status_code == 201, response.text


async def test_many_unknown_fields_are_one_error(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    body = {"name": "S", "timezone": "UTC", **{f"extra{i}": 0 for i in range(600)}}
    response = await client.post(SITES, json=body, headers=admin)
    assert response.status_code == 422
    [error] = response.json()["details"]
    assert "600 unknown fields" in error["msg"]
    few = await client.post(SITES, json={"name": "S", "timezone": "UTC", "typo": 1}, headers=admin)
    assert few.status_code == 422
    assert few.json()["details"] == [
        {"loc": ["body", "typo"], "msg": "Extra inputs are not permitted"}
    ]


async def test_validation_errors_list_twenty_and_count_the_rest(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    body = {"name": "S", "timezone": "UTC", "parent_id": "x", "latitude": "north",
            "longitude": 1e9, "elevation_m": 1e9, "contract_demand_kw": -1,
            "emission_factor_kg_per_kwh": 99, "description": "d" * 3000}  # fmt: skip
    body.update({f"extra{i}": 0 for i in range(20)})
    response = await client.post(SITES, json=body, headers=admin)
    assert response.status_code == 422
    answer = response.json()
    assert len(answer["details"]) == 20
    assert "27 errors in all; the first 20 are in details" in answer["message"]
