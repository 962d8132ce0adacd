"""An active event's measured intervals reach a real WebSocket client of ``/api/v1/live``
(``dr_performance``, from ``dr_event.performance``): a real uvicorn server whose DR loop runs
every half second, the ``websockets`` library as the client, both back ends. Another site's
viewer gets nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from tests.api.live_server import live_server
from tests.dr.dr_data import QUARTER, ZONE, iso_utc
from tests.dr.test_webhook import site_with_history
from tests.live.wsclient import authenticated, bearer, recv_json, recv_until, subscribe

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms


@pytest.fixture
def server(app, settings) -> Iterator[str]:
    """The served app runs the DR loop; the test's own app (same database) does not."""
    served = settings.model_copy(update={"dr_interval_s": 0.5, "rollup_interval_s": 3600.0})
    with live_server(served) as url:
        yield url


def window(now: int) -> tuple[int, int]:
    """Two quarters before the current one to two after, within its local day (in a day's
    first quarter: the last hour of the day before, already over)."""
    current = now - now % QUARTER
    local = dt.datetime.fromtimestamp(current / 1000, ZoneInfo(ZONE))
    midnight = dt.datetime.combine(local.date(), dt.time(), local.tzinfo)
    first = int(midnight.timestamp() * 1000)
    last = int((midnight + dt.timedelta(days=1)).timestamp() * 1000)
    start, end = max(first, current - 2 * QUARTER), min(last, current + 2 * QUARTER)
    return (current - 4 * QUARTER, current) if start == current else (start, end)


async def test_measured_intervals_stream_to_a_websocket_client(
    app, client, admin, auth_headers, server
):
    site = await site_with_history(app, client, admin, "Live DR plant")
    other = await client.post("/api/v1/sites", json={"name": "Elsewhere", "timezone": ZONE},
                              headers=admin)  # fmt: skip
    outsider = await auth_headers(Role.VIEWER, sites=[other.json()["id"]])
    ws = await authenticated(server, bearer(admin))
    subscribed = await subscribe(ws, sites=[site], events=["dr_performance"])
    assert subscribed["type"] == "subscribed" and subscribed["events"] == ["dr_performance"]
    blind = await authenticated(server, bearer(outsider))
    assert (await subscribe(blind))["type"] == "subscribed"  # everything it may see

    start, end = window(now_ms())
    made = await client.post("/api/dr-events", headers=admin, json={
        "facility_id": site, "event_start": iso_utc(start), "event_end": iso_utc(end),
        "target_reduction_kw": 20,
    })  # fmt: skip
    assert made.status_code == 201, made.text
    event = made.json()["event_id"]

    messages = await recv_until(ws, lambda m: m["type"] == "dr_performance")
    message = messages[-1]
    assert message["event_id"] == event and message["site_id"] == site
    assert message["topic"] == "dr_event.performance" and message["status"] == "active"
    assert message["target_reduction_kw"] == 20.0
    assert message["total_intervals"] == (end - start) // QUARTER
    measured = message["intervals"]
    assert 1 <= len(measured) == message["measured_intervals"]
    assert all(start <= m["ts_ms"] < min(end, now_ms()) for m in measured)
    for m in measured:  # baseline - metered, and the target load below the baseline
        assert m["reduction_kw"] == pytest.approx(m["baseline_kw"] - m["metered_kw"], abs=1e-6)
        assert m["target_kw"] == pytest.approx(m["baseline_kw"] - 20.0, abs=1e-6)
    mean = sum(m["reduction_kw"] for m in measured) / len(measured)
    assert message["achieved_reduction_kw"] == pytest.approx(mean, abs=1e-5)
    assert message["performance_pct"] == pytest.approx(100 * mean / 20.0, abs=1e-3)
    detail = (await client.get(f"/api/v1/dr-events/{event}", headers=admin)).json()
    stored = {i["timestamp"]: i["reduction_kw"] for i in detail["intervals"]}
    for m in measured:  # what was streamed is what the event detail answers
        assert stored[iso_utc(m["ts_ms"])] == pytest.approx(m["reduction_kw"])
    with pytest.raises(TimeoutError):  # another site's viewer gets nothing of it
        while True:
            seen = await recv_json(blind, timeout_s=1.5)
            assert seen["type"] != "dr_performance", seen
    await asyncio.gather(ws.close(), blind.close())
