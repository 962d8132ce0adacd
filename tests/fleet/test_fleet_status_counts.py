"""The fleet summary's status counts take a short cut (assets their stored last-seen already
makes online are not looked at one by one, and stored readings are read only for the assets
still not online): the counts must equal each asset's own ``effective_status`` in every case
that short cut could get wrong. Both back ends."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.assets.summary import asset_facts
from gridpilot.auth.permissions import Role
from gridpilot.control.status import StatusPolicy, read_statuses
from gridpilot.core.timestamps import now_ms
from gridpilot.fleet.service import status_counts

#: 60-s assets go offline after 3 minutes without a sign of life.
POLICY = StatusPolicy(factor=3, default_interval_s=60, min_stale_s=0)
MIN = 60_000


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def store_status(session, asset, site, status, reason, seen, changed) -> None:
    await session.execute(
        text(
            "INSERT INTO asset_status (asset_id, site_id, status, reason, last_seen_ms,"
            " changed_ms) VALUES (:a, :s, :status, :reason, :seen, :changed)"
        ),
        {
            "a": asset,
            "s": site,
            "status": status,
            "reason": reason,
            "seen": seen,
            "changed": changed,
        },
    )


async def pending_reading(session, asset, at_ms) -> None:
    """A reading stored at ``at_ms`` and not yet rolled up (what ``last_seen`` reads)."""
    metric = await session.scalar(text("SELECT MIN(id) FROM metrics"))
    await session.execute(
        text(
            "INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms, version)"
            " VALUES (:a, :m, :t, :t, 0)"
        ),
        {"a": asset, "m": metric, "t": at_ms},
    )


async def test_counts_equal_each_assets_own_status(client, admin, sessions):
    site = await make_site(client, admin, "Status site")
    other = await make_site(client, admin, "Other site")
    names = ["live", "last will", "stale but data", "never", "stale", "last will lifted"]
    ids = {
        name: await make_asset(
            client, admin, site if i % 2 == 0 else other, name, "meter", expected_interval_s=60
        )
        for i, name in enumerate(names)
    }
    sites = {name: site if i % 2 == 0 else other for i, name in enumerate(names)}
    now = now_ms()
    tracked = {ids["last will lifted"]: now - 5_000}  # this process saw it after its Last Will
    async with sessions() as session:
        rows = {
            "live": ("online", "data", now - 10_000, now - 60 * MIN),
            "last will": ("offline", "lwt", now - 4 * MIN, now - 2 * MIN),
            "stale but data": ("offline", "stale", now - 30 * MIN, now - 27 * MIN),
            "stale": ("online", "data", now - 10 * MIN, now - 60 * MIN),
            "last will lifted": ("offline", "lwt", now - 4 * MIN, now - 2 * MIN),
        }
        for name, (status, reason, seen, changed) in rows.items():
            await store_status(session, ids[name], sites[name], status, reason, seen, changed)
        await session.commit()
    async with sessions() as session:
        await pending_reading(session, ids["stale but data"], now - 20_000)
        await pending_reading(session, ids["last will"], now - 20_000)  # data cannot lift it
        await session.commit()
    async with sessions() as session:
        facts = await asset_facts(session=session, site_ids=[site, other])
        counts = await status_counts(session, facts, tracked.get, POLICY, now)
        views = await read_statuses(
            session=session,
            assets=[(f.asset_id, f.site_id, f.expected_interval_s) for f in facts],
            tracked=tracked.get,
            policy=POLICY,
            now_ms=now,
        )
    own = {v.asset_id: v.status for v in views}
    assert {name: own[ids[name]] for name in names} == {
        "live": "online",
        "last will": "offline",
        "stale but data": "online",
        "never": "unknown",
        "stale": "offline",
        "last will lifted": "online",
    }
    expected: dict[int, dict[str, int]] = {}
    for view in views:
        per_site = expected.setdefault(view.site_id, {})
        per_site[view.status] = per_site.get(view.status, 0) + 1
    assert counts == expected
