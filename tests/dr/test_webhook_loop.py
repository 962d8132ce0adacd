"""The running DR loop (not a test-driven step) takes an accepted notification at once: the
webhook wakes it, although its interval is an hour."""

from __future__ import annotations

import asyncio

import pytest
from tests.dr.test_webhook import notification as payload
from tests.dr.test_webhook import post, site_with_history, utility

EVENTS = "/api/v1/dr-events"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"dr_interval_s": 3600, "forecast_interval_s": 0, "baseline_refit_check_s": 0}


async def test_the_webhook_wakes_the_loop(app, client, admin):
    site = await site_with_history(app, client, admin, "Plant")
    util = await utility(client, admin, [site])
    answer = await post(client, util["secret"], payload([site]))
    assert answer.status_code == 202, answer.text
    async with asyncio.timeout(30):
        while not (events := (await client.get(EVENTS, headers=admin)).json()):
            await asyncio.sleep(0.05)
    assert [(e["site_id"], e["source"], e["status"]) for e in events] == [
        (site, "utility_webhook", "scheduled")
    ]
