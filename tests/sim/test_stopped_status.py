"""An asset whose simulator was stopped reads offline (``stopped``) at once, on
``GET /assets/{id}/status`` and in the dashboard's status (the same ``read_statuses`` with this
process's tracker), although its last data is still fresh; readings taken before the stop and
stored late do not bring it back; a reading taken after the stop does."""

from __future__ import annotations

import asyncio

from tests.sim.test_routes import BASE, wait_for

from gridpilot.auth.permissions import Role
from gridpilot.control.status import read_statuses
from gridpilot.control.tasks import CONTROL, status_policy
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms


async def _api(client, headers, asset_id: int) -> tuple[str, str | None]:
    answer = await client.get(f"/api/v1/assets/{asset_id}/status", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["status"], answer.json()["reason"]


async def _dashboard(app, asset: dict) -> tuple[str, str | None]:
    """The status as ``web.figures.statuses`` reads it (with the live tracker's last-seen)."""
    runtime = runtime_of(app)
    tracker = runtime.get(CONTROL).tracker
    async with runtime.sessions() as session:
        [view] = await read_statuses(
            session=session, assets=[(asset["id"], asset["site_id"], asset["expected_interval_s"])],
            tracked=tracker.last_seen, policy=status_policy(runtime.settings), now_ms=now_ms(),
        )  # fmt: skip
    return view.status, view.reason


async def _store(client, headers, asset_id: int, ts: int) -> None:
    reading = {"asset": asset_id, "metric": "power_kw", "ts": ts, "value": 12.5}
    answer = await client.post("/api/v1/telemetry", json={"readings": [reading]}, headers=headers)
    assert answer.status_code in (200, 202), answer.text


async def _settled(app, client, headers, asset: dict, want: tuple[str, str | None]) -> None:
    """Wait until the tracker recorded what it saw; both views must then say ``want``."""
    runtime = runtime_of(app).get(CONTROL)
    for _ in range(50):
        await runtime.tracker.process_pending()
        if await _api(client, headers, asset["id"]) == want:
            break
        await asyncio.sleep(0.1)
    assert await _api(client, headers, asset["id"]) == want
    assert await _dashboard(app, asset) == want


async def test_a_stopped_simulator_reads_offline_stopped_everywhere(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    started = await client.post(f"{BASE}/start", headers=admin, json={"scenarios": ["factory"]})
    assert started.status_code == 200, started.text
    await wait_for(client, admin, lambda s: s["stored"] > 0)
    asset_id = started.json()["assets"][0]["asset_id"]
    asset = (await client.get(f"/api/v1/assets/{asset_id}", headers=admin)).json()
    await _settled(app, client, admin, asset, ("online", "data"))

    stopped_ms = now_ms()
    assert (await client.post(f"{BASE}/stop", headers=admin)).status_code == 200
    # its last data is seconds old, well inside the staleness window: still stopped on purpose
    await _settled(app, client, admin, asset, ("offline", "stopped"))

    await _store(client, admin, asset_id, stopped_ms - 1_000)  # taken before the stop
    await _settled(app, client, admin, asset, ("offline", "stopped"))

    await _store(client, admin, asset_id, now_ms())  # its data comes again
    await _settled(app, client, admin, asset, ("online", "data"))
