"""WIA production bodies: read only after authentication, JSON only, capped in objects, values and
readings, and an invalid list answers its first errors and their count, never one error per
object per branch of the list-or-object union (#13). Accepted data stays stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridpilot.auth.permissions import Role

SOURCES = "/api/v1/sources"
SID = "WIND-ON-DNK-00003"
URL = f"{SOURCES}/{SID}/production"
LIMIT = 100


@pytest.fixture
def settings_overrides():
    return {"max_batch_readings": LIMIT}


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def source(client, operator):
    body = {"sourceId": SID, "sourceType": "WIND-ON", "name": "Horns",
            "ratedCapacity": {"value": 8, "unit": "MW"}}  # fmt: skip
    response = await client.post(SOURCES, json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


def production(minutes_ago: int, power: float = 1.0) -> dict:
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return {"timestamp": ts.isoformat(), "sourceId": SID,
            "production": {"instantaneous": {"value": power, "unit": "MW"}}}  # fmt: skip


class CountedBody:
    """A streamed body; counts the chunks the server pulled."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    async def __aiter__(self):
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


async def stored_powers(client, headers) -> list[float]:
    got = await client.get(URL, headers=headers)
    assert got.status_code == 200, got.text
    return [item["production"]["instantaneous"]["value"] for item in got.json()]


async def test_a_list_of_empty_objects_answers_bounded_errors(client, operator, source):
    assert (await client.post(URL, json=production(5, 2.0), headers=operator)).status_code == 201
    response = await client.post(URL, json=[{}] * 50, headers=operator)
    assert response.status_code == 422
    answer = response.json()
    assert answer["stored"] == 0 and len(answer["rejected"]) == 50  # one line per object
    assert answer["rejected"][0] == {
        "index": 0,
        "field": "timestamp",
        "reason": "Field required (and 1 more errors)",
    }
    assert not any("ProductionData" in r["field"] for r in answer["rejected"])
    single = await client.post(URL, json={}, headers=operator)
    assert single.status_code == 422
    assert [e["loc"] for e in single.json()["details"]] == [
        ["body", "timestamp"],
        ["body", "sourceId"],
    ]
    assert await stored_powers(client, operator) == [2000.0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{}] * 150, f"the body has 150 production objects; the limit is {LIMIT}"),
        ([{}] * 5000, "the JSON body holds more than 1600 values"),
        ([production(i) | {"efficiency": {"current": 20}} for i in range(60)],
         f"the production data holds 120 readings; the limit is {LIMIT}"),
    ],
)  # fmt: skip
async def test_too_many_objects_values_or_readings_are_413(client, operator, source, body, message):
    assert (await client.post(URL, json=production(5, 2.0), headers=operator)).status_code == 201
    response = await client.post(URL, json=body, headers=operator)
    assert response.status_code == 413
    assert response.json()["message"].startswith(message)
    assert await stored_powers(client, operator) == [2000.0]


@pytest.mark.parametrize("content_type", ["text/plain", None])
async def test_other_content_types_are_415(client, operator, source, content_type):
    headers = {**operator, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post(URL, content=b'{"timestamp": 0}', headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


async def test_the_body_is_read_only_for_an_authorised_writer(client, auth_headers, source):
    for headers, status in (({}, 401), (await auth_headers(Role.VIEWER), 403)):
        body = CountedBody(b"[" + b"{}," * 1000, 100)
        response = await client.post(
            URL, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == status
        assert body.pulled == 0
