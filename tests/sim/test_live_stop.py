"""Stopping the live simulator does not wait for a whole catch-up tick of the fleet."""

from __future__ import annotations

import asyncio

import numpy as np
from numpy.typing import NDArray

from gridpilot.sim.noise import Array
from gridpilot.sim.provision import SimAsset, provision
from gridpilot.sim.realtime import LiveSimulator


class StoppingSink:
    """Records what it is sent and asks the simulator to stop after the first asset."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.assets: list[int] = []

    async def send(self, asset: SimAsset, ts: NDArray[np.int64], values: dict[str, Array]) -> None:
        self.assets.append(asset.asset_id)
        self.stop.set()


async def test_a_tick_ends_at_the_next_asset_once_stop_is_set_and_the_rest_resume_later(app):
    assets = await provision(sessions=app.state.sessions, bus=None, scenarios=["factory"])
    stop = asyncio.Event()
    sink = StoppingSink(stop)
    simulator = LiveSimulator(assets, sink=sink, seed=1, speed=1e9)  # hours of catch-up due
    await simulator.prime(app.state.telemetry)
    before = {asset_id: live.next_ms for asset_id, live in simulator.live.items()}

    await simulator.tick(stop)

    assert len(sink.assets) == 1
    [sent] = sink.assets
    untouched = [a for a in before if a != sent]
    assert untouched and all(simulator.live[a].next_ms == before[a] for a in untouched)

    stop.clear()
    sink.stop = asyncio.Event()  # this time nobody stops it
    await simulator.tick()
    assert set(sink.assets) == set(before)  # every asset is continued by the next tick
