"""The preview of a rule over stored data (``alerts.preview``): the kind's own check replayed
over 1-minute averages, both back ends."""

from __future__ import annotations

import pytest

from gridpilot.alerts.preview import Draft, preview_rule
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import now_ms

MINUTE = 60_000

#: (minutes, kW): two excursions above 500 kW, of 5 and 12 minutes.
PROFILE = [(20, 100.0), (5, 600.0), (20, 100.0), (12, 700.0), (10, 100.0)]


async def _store(env, client, asset_id: int) -> int:
    start = now_ms() - 3 * 3_600_000
    start -= start % MINUTE
    readings, ts = [], start
    for minutes, kw in PROFILE:
        for _ in range(minutes):
            readings.append({"asset": asset_id, "metric": "power_kw", "ts": ts, "value": kw})
            ts += MINUTE
    stored = await client.post("/api/v1/telemetry", json={"readings": readings}, headers=env.admin)
    assert stored.status_code == 200, stored.text
    return start


async def test_a_threshold_rule_is_replayed_over_the_last_day(env, client, sessions):
    site_id, asset_id = await env.site("Preview site")
    start = await _store(env, client, asset_id)
    operator = Principal(subject="user:9", name="op", role=Role.OPERATOR)
    quick = Draft("threshold", "power_kw", {"threshold": 500}, site_id=site_id)
    slow = Draft("threshold", "power_kw", {"threshold": 500, "duration_s": 600}, asset_id=asset_id)
    async with sessions() as session:
        both = await preview_rule(session=session, principal=operator, draft=quick)
        long_only = await preview_rule(session=session, principal=operator, draft=slow)
    assert both.raised_ms == [start + 20 * MINUTE, start + 45 * MINUTE]
    assert "above 500 kW" in both.raised[0].title and both.assets_checked == 1
    # held 10 minutes: only the 12-minute excursion, raised 10 minutes into it
    assert long_only.raised_ms == [start + 55 * MINUTE]


async def test_a_rate_rule_is_replayed_and_a_stale_rule_is_not(env, client, sessions):
    site_id, asset_id = await env.site("Rate site")
    await _store(env, client, asset_id)
    admin = Principal(subject="user:1", name="admin", role=Role.ADMINISTRATOR)
    rate = Draft(
        "rate_of_change", "power_kw", {"max_rate_per_min": 300, "window_s": 60, "direction": "rise"}
    )
    async with sessions() as session:
        found = await preview_rule(session=session, principal=admin, draft=rate)
        with pytest.raises(ValidationFailed, match="cannot be previewed"):
            await preview_rule(
                session=session, principal=admin, draft=Draft("stale", None, {}, site_id=site_id)
            )
    assert len(found.raised) == 2  # +500 and +600 kW in a minute, both rises


async def test_assets_out_of_scope_are_not_replayed(env, client, sessions):
    site_id, asset_id = await env.site("Hidden site")
    await _store(env, client, asset_id)
    elsewhere = Principal(
        subject="user:7", name="v", role=Role.OPERATOR, site_ids=frozenset({site_id + 1000})
    )
    draft = Draft("threshold", "power_kw", {"threshold": 500})
    async with sessions() as session:
        found = await preview_rule(session=session, principal=elsewhere, draft=draft)
    assert (found.raised, found.assets_in_scope) == ([], 0)
