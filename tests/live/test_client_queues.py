"""``LiveClient`` queues: conflation of readings, bounded events, scope and filters (no server).

The connection is a ``Pipe``: its ``send`` waits until the test lets a message through, like a
client that reads only when the test says so.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.metrics import Metrics
from gridpilot.live.client import LiveClient
from gridpilot.live.protocol import Subscription


class Pipe:
    """A connection whose reader takes one message each time ``read`` is awaited."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        self.closed: tuple[int, str] | None = None

    async def send(self, text: str) -> None:
        await self.outbox.put(json.loads(text))  # waits while the previous one is unread

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    async def read(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.outbox.get(), 5)


async def sent_everything(client: LiveClient) -> None:
    """Let the sender task run until it took every queued message."""
    for _ in range(100):
        if client.pending == 0:
            return
        await asyncio.sleep(0)
    raise AssertionError("the sender did not take the queued messages")


def readings(asset_id: int, site_id: int, ts: int, value: float, metric: str = "power_kw"):
    return {
        "count": 1,
        "assets": [
            {
                "asset_id": asset_id,
                "site_id": site_id,
                "count": 1,
                "latest": {metric: {"ts": ts, "value": value}},
            }
        ],
    }


def status(asset_id: int, site_id: int, state: str) -> dict[str, Any]:
    return {"asset_id": asset_id, "site_id": site_id, "status": state}


@pytest.fixture
async def connection():
    pipe = Pipe()
    metrics = Metrics()
    client = LiveClient(
        Principal(subject="user:1", name="ann", role=Role.VIEWER),
        send=pipe.send,
        close=pipe.close,
        max_events=3,
        metrics=metrics,
    )
    client.resubscribe(Subscription())
    sender = asyncio.create_task(client.run())
    yield pipe, client, metrics
    sender.cancel()


async def test_unsent_values_are_replaced_by_newer_ones(connection):
    pipe, client, metrics = connection
    client.offer("readings", "readings.stored", readings(1, 10, 1000, 1.0))
    await sent_everything(client)  # the first message is on its way
    for i in range(2, 101):  # the reader is slow: 99 more batches arrive meanwhile
        client.offer("readings", "readings.stored", readings(1, 10, i * 1000, float(i)))
    client.offer("readings", "readings.stored", readings(1, 10, 500, -1.0))  # late, older
    client.offer("readings", "readings.stored", readings(2, 10, 7000, 7.0, "soc_pct"))
    first = await pipe.read()
    second = await pipe.read()
    assert first["assets"][0]["latest"] == {"power_kw": {"ts": 1000, "value": 1.0}}
    assert second == {
        "type": "readings",
        "count": 101,
        "assets": [
            {
                "asset_id": 1,
                "site_id": 10,
                "count": 100,
                "latest": {"power_kw": {"ts": 100_000, "value": 100.0}},
            },
            {
                "asset_id": 2,
                "site_id": 10,
                "count": 1,
                "latest": {"soc_pct": {"ts": 7000, "value": 7.0}},
            },
        ],
    }
    assert client.pending == 0
    assert metrics.registry.get_sample_value("gridpilot_live_values_conflated_total") == 99


async def test_other_events_queue_bounded_and_report_drops(connection):
    pipe, client, metrics = connection
    client.offer("status", "asset.status", status(1, 10, "online"))
    await sent_everything(client)  # in flight
    for i in range(5):
        client.offer("status", "asset.status", status(100 + i, 10, "offline"))
    first = await pipe.read()
    assert first["type"] == "status"
    assert first["asset_id"] == 1
    assert first["topic"] == "asset.status"
    dropped = await pipe.read()
    assert dropped == {"type": "dropped", "count": 2, "events": {"status": 2}}
    kept = [(await pipe.read())["asset_id"] for _ in range(3)]
    assert kept == [102, 103, 104]  # the newest three
    assert metrics.registry.get_sample_value("gridpilot_live_events_dropped_total") == 2


async def test_control_replies_go_first(connection):
    pipe, client, _ = connection
    client.offer("status", "asset.status", status(1, 10, "online"))
    await sent_everything(client)
    client.offer("status", "asset.status", status(2, 10, "online"))
    client.reply({"type": "pong"})
    assert (await pipe.read())["asset_id"] == 1
    assert (await pipe.read()) == {"type": "pong"}
    assert (await pipe.read())["asset_id"] == 2


def make_client(principal: Principal, subscription: Subscription) -> LiveClient:
    async def never(*_: Any) -> None:
        raise AssertionError("not sending in this test")

    client = LiveClient(principal, send=never, close=never, max_events=100)
    client.resubscribe(subscription)
    return client


def queued_assets(client: LiveClient) -> set[int]:
    message = client._next_message()
    return {entry["asset_id"] for entry in message["assets"]} if message else set()


async def test_scope_and_filters():
    viewer = Principal(subject="user:2", name="v", role=Role.VIEWER, site_ids=frozenset({10}))
    device = Principal(
        subject="key:k",
        name="d",
        role=Role.SERVICE,
        site_ids=frozenset({10}),
        asset_ids=frozenset({1}),
    )
    batch = {
        "count": 4,
        "assets": [
            {
                "asset_id": 1,
                "site_id": 10,
                "count": 1,
                "latest": {"power_kw": {"ts": 1, "value": 1}},
            },
            {
                "asset_id": 2,
                "site_id": 10,
                "count": 1,
                "latest": {"voltage_v": {"ts": 1, "value": 2}},
            },
            {
                "asset_id": 3,
                "site_id": 20,
                "count": 1,
                "latest": {"power_kw": {"ts": 1, "value": 3}},
            },
            {
                "asset_id": 4,
                "site_id": None,
                "count": 1,
                "latest": {"power_kw": {"ts": 1, "value": 4}},
            },
        ],
    }
    cases = [
        (viewer, Subscription(), {1, 2}),
        (device, Subscription(), {1}),
        (
            Principal(subject="user:3", name="a", role=Role.ADMINISTRATOR),
            Subscription(),
            {1, 2, 3, 4},
        ),
        (viewer, Subscription(sites=frozenset({20})), set()),  # out of scope stays hidden
        (viewer, Subscription(metrics=frozenset({"voltage_v"})), {2}),
        (viewer, Subscription(events=frozenset({"status"})), set()),
    ]
    for principal, subscription, expected in cases:
        client = make_client(principal, subscription)
        client.offer("readings", "readings.stored", batch)
        assert queued_assets(client) == expected, (principal.subject, subscription)

    client = make_client(viewer, Subscription(assets=frozenset({1})))
    client.offer("status", "asset.status", status(3, 20, "online"))
    client.offer("status", "asset.status", status(2, 10, "online"))
    client.offer("alerts", "alert.raised", {"asset_id": 1, "site_id": 10, "severity": "critical"})
    message = client._next_message()
    assert message is not None
    assert (message["type"], message["topic"], message["asset_id"]) == ("alert", "alert.raised", 1)
    assert client._next_message() is None


async def test_resubscribing_forgets_what_the_new_subscription_does_not_cover():
    admin = Principal(subject="user:3", name="a", role=Role.ADMINISTRATOR)
    client = make_client(admin, Subscription())
    client.offer("readings", "readings.stored", readings(1, 10, 1, 1.0))
    client.offer("readings", "readings.stored", readings(2, 20, 1, 2.0))
    client.offer("status", "asset.status", status(1, 10, "online"))
    client.resubscribe(Subscription(sites=frozenset({20})))
    assert queued_assets(client) == {2}
    assert client._next_message() is None


async def test_an_event_over_several_sites_needs_all_of_them():
    """A firmware roll-out's event (``site_ids``) reaches a principal of every one of its sites
    (never a device key); a ``sites`` filter keeps it when one of its sites is listed, also
    after resubscribing."""
    both = {"rollout_id": 4, "site_ids": [1, 2], "state": "paused"}
    one = {"rollout_id": 5, "site_ids": [1], "state": "running"}
    firmware = frozenset({"firmware_rollouts"})

    def queued(principal: Principal, **subscription: Any) -> list[int]:
        client = make_client(principal, Subscription(events=firmware, **subscription))
        for payload in (both, one):
            client.offer("firmware_rollouts", "firmware_rollout.updated", payload)
        return [m["rollout_id"] for _, m in client._events]

    admin = Principal(subject="user:1", name="admin", role=Role.ADMINISTRATOR)
    site_1 = Principal(subject="user:2", name="v", role=Role.VIEWER, site_ids=frozenset({1}))
    sites_12 = Principal(subject="user:3", name="w", role=Role.VIEWER, site_ids=frozenset({1, 2}))
    device = Principal(
        subject="key:1", name="d", role=Role.SERVICE, site_ids=frozenset({1}),
        asset_ids=frozenset({7}),
    )  # fmt: skip
    assert queued(admin) == [4, 5]
    assert queued(site_1) == [5]  # not the roll-out that reaches site 2 too
    assert queued(sites_12) == [4, 5]
    assert queued(device) == []
    assert queued(admin, sites=frozenset({2})) == [4]
    assert queued(admin, assets=frozenset({7})) == []  # a roll-out is no asset's event
    client = make_client(admin, Subscription(events=firmware))
    for payload in (both, one):
        client.offer("firmware_rollouts", "firmware_rollout.updated", payload)
    client.resubscribe(Subscription(sites=frozenset({2}), events=firmware))
    assert [m["rollout_id"] for _, m in client._events] == [4]
