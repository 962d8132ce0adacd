"""Ingest bodies are counted while they are decoded: a body over the reading limit is refused (413)
at the first reading beyond it, without reading the rest; JSON by its values before it is parsed;
other content types are 415. Accepted batches are kept (#13)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridpilot.core.timestamps import MS_PER_HOUR, now_ms

URL = "/api/v1/telemetry"
T0 = now_ms() // 1000 * 1000 - MS_PER_HOUR
LIMIT = 100


@pytest.fixture
def settings_overrides():
    return {"max_batch_readings": LIMIT, "max_body_bytes": 1_000_000}


async def readings_count(sessions):
    async with sessions() as session:
        return await session.scalar(text("SELECT COUNT(*) FROM readings"))


class CountedBody:
    """A streamed body of ``head`` then ``count`` times ``chunk``; counts the chunks pulled."""

    def __init__(self, head: bytes, chunk: bytes, count: int) -> None:
        self.head, self.chunk, self.count = head, chunk, count
        self.pulled = 0

    async def __aiter__(self):
        self.pulled += 1
        yield self.head
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


def csv_rows(meter, start, n):
    return "".join(f"{meter},power_kw,{T0 + start + i},1.5\n" for i in range(n)).encode()


def ndjson_rows(meter, start, n):
    return "".join(
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {T0 + start + i}, "value": 2}}\n'
        for i in range(n)
    ).encode()


@pytest.mark.parametrize("kind", ["text/csv", "application/x-ndjson"])
async def test_a_streamed_body_stops_at_the_first_reading_over_the_limit(
    client, operator, sessions, meter, kind
):
    rows = csv_rows if kind == "text/csv" else ndjson_rows
    head = b"asset,metric,ts,value\n" if kind == "text/csv" else b""
    good = await client.post(
        URL, content=head + rows(meter, 0, LIMIT), headers={**operator, "Content-Type": kind}
    )
    assert good.status_code == 200, good.text
    assert good.json()["stored"] == LIMIT

    body = CountedBody(head, rows(meter, 10_000, 10), 10_000)
    response = await client.post(URL, content=body, headers={**operator, "Content-Type": kind})
    assert response.status_code == 413
    assert response.json()["message"] == (
        f"the batch has more than {LIMIT} readings; the limit is {LIMIT}"
    )
    assert body.pulled <= LIMIT // 10 + 2  # the other ~10,000 chunks were never read
    assert await readings_count(sessions) == LIMIT


async def test_a_json_body_of_many_tiny_values_is_refused_before_parsing(
    client, operator, sessions, meter
):
    one = {"asset": meter, "metric": "power_kw", "ts": T0, "value": 3}
    assert (await client.post(URL, json=[one], headers=operator)).status_code == 200
    nested = {**one, "ts": T0 + 1, "value": [[]] * 5000}  # one reading, 5,000 values
    for body in ([nested], [{}] * 2000, {"readings": [one], "junk": [0] * 5000}):
        response = await client.post(URL, json=body, headers=operator)
        assert response.status_code == 413, response.text[:200]
        assert "JSON body holds more than 1600 values" in response.json()["message"]
    line = b'{"asset": 1, "metric": "power_kw", "ts": 1, "value": [' + b"0," * 5000 + b"0]}\n"
    response = await client.post(
        URL, content=line, headers={**operator, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 413
    assert await readings_count(sessions) == 1


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
async def test_other_content_types_are_415(client, operator, sessions, meter, content_type):
    body = f'[{{"asset": {meter}, "metric": "power_kw", "ts": {T0}, "value": 1}}]'.encode()
    headers = {**operator, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert "application/x-ndjson, text/csv" in response.json()["message"]
    assert await readings_count(sessions) == 0


async def test_a_quoted_csv_field_may_span_lines_and_chunks(client, operator, sessions, meter):
    body = CountedBody(
        b'asset,metric,ts,value,note\n%d,power_kw,%d,1.5,"line one\n' % (meter, T0),
        b'line two"\n',
        1,
    )
    response = await client.post(
        URL, content=body, headers={**operator, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    async with sessions() as session:
        assert await session.scalar(text("SELECT value FROM readings")) == 1.5
