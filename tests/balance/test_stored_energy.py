"""The balance's stored energy per series and bucket (``telemetry/series_energy.py``): the
balance statements give the same rows from it as from the rollups' segments alone (a series
without a ``balance_energy_series`` row is computed that way), on hand-built data with counter
resets, gaps, a register for part of the period, signed power, a sub-meter and pending raw
data; after a backfill into old buckets and after retention. Both back ends."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import text
from tests.insights.balance.balance_data import ingest, reading
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.balance.grid import Grid, make_grid
from gridpilot.balance.queries import balance_sql, meters_sql
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.retention import apply_retention
from gridpilot.telemetry.rollups import floor_to, refresh_pending

H = 3_600_000
MIN = 60_000
T = floor_to(now_ms() - 3 * 86_400_000, H)  # three days ago, on the hour
MID = T + 62 * H + 7 * MIN  # a "now" inside the data (readings after it exist)
TOLERANCE_KWH = 1e-9


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """No background refresh: the test decides when pending data is rolled up."""
    return {"rollup_interval_s": 3600.0, "retention_interval_s": 3600.0}


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


def _series(asset: int, metric: str, start: int, end: int, every_ms: int, value) -> list[dict]:
    """Readings every ``every_ms`` [ms] with up to a third of it of jitter (seeded)."""
    rnd = random.Random(asset * 1000 + len(metric))
    out, ts = [], start
    while ts < end:
        out.append(reading(asset, metric, ts + rnd.randrange(every_ms // 3), value(rnd, ts)))
        ts += every_ms
    return out


def _register(asset: int, start: int, end: int, every_ms: int, reset_at: int | None) -> list:
    """A counter rising 0-3 kWh a step, dropping to 1 kWh (a reset) at ``reset_at``."""
    rnd, total, out = random.Random(asset), 500.0, []
    for ts in range(start, end, every_ms):
        total = 1.0 if reset_at is not None and ts == reset_at else total + rnd.uniform(0, 3)
        out.append(reading(asset, "energy_kwh", ts, round(total, 3)))
    return out


async def _fleet(client, admin) -> tuple[int, list[dict], list[dict]]:
    """A site (grid meter with a sub-metered load, PV, battery, wind, a plain load); the readings
    rolled up, and the pending ones (late data into old buckets, new data at the end)."""
    site = await make_site(client, admin, "Stored")
    grid = await make_asset(client, admin, site, "Main", "grid_connection", expected_interval_s=300)
    sub = await make_asset(client, admin, site, "Sub", "meter", parent_asset_id=grid)
    load = await make_asset(client, admin, site, "Load", "meter")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    bat = await make_asset(client, admin, site, "Battery", "battery")
    wind = await make_asset(client, admin, site, "Wind", "wind_onshore")
    signed = lambda rnd, ts: round(rnd.uniform(-50, 80), 2)  # noqa: E731
    positive = lambda rnd, ts: round(rnd.uniform(0, 30), 2)  # noqa: E731
    rolled = [
        *_series(grid, "power_kw", T, T + 10 * H, 5 * MIN, signed),  # a 3 h gap, then on
        *_series(grid, "power_kw", T + 13 * H, T + 60 * H, 5 * MIN, signed),
        *_series(sub, "power_kw", T, T + 60 * H, 10 * MIN, positive),
        *_register(sub, T + 24 * H, T + 60 * H, 10 * MIN, reset_at=T + 40 * H),
        *_series(load, "power_kw", T, T + 60 * H, 4 * MIN, positive),
        *_register(load, T + 2 * H, T + 60 * H, 15 * MIN, reset_at=T + 20 * H),
        *_series(pv, "power_kw", T, T + 60 * H, 15 * MIN, positive),
        *_series(bat, "power_kw", T, T + 60 * H, 7 * MIN, signed),
        *_register(bat, T + 30 * H, T + 60 * H, 20 * MIN, reset_at=None),
        *_register(wind, T, T + 60 * H, 3 * H, reset_at=T + 30 * H),  # a step every 3 h
    ]
    pending = [
        reading(grid, "power_kw", T + 11 * H + 3 * MIN, 42.0),  # into the gap
        reading(load, "energy_kwh", T + 5 * H + 7 * MIN, 505.0),  # between register steps
        reading(sub, "power_kw", T + 30 * H + 1 * MIN, 0.0),
        # between readings 3 h apart: the step before it spreads back over older buckets
        reading(wind, "energy_kwh", T + 7 * H + 50 * MIN, 530.0),
        *_series(grid, "power_kw", T + 60 * H, T + 66 * H, 5 * MIN, signed),
        *_series(pv, "power_kw", T + 60 * H, T + 66 * H, 15 * MIN, positive),
        *_register(load, T + 60 * H, T + 66 * H, 15 * MIN, reset_at=None),
    ]
    return site, rolled, pending


def _grids() -> list[Grid]:
    return [
        make_grid(T + 2 * H, T + 26 * H, "15m"),
        make_grid(T, T + 72 * H, "1h"),
        make_grid(T + 50 * H, T + 70 * H, "15m"),
        make_grid(T - 86_400_000, T + 3 * 86_400_000, "1d", "Europe/Berlin"),
        make_grid(T - 86_400_000, T + 3 * 86_400_000, "1d", "Asia/Kolkata"),
        make_grid(T - 86_400_000, T + 3 * 86_400_000, "1d", "UTC"),
    ]


async def _rows(sessions, site: int) -> dict[tuple, Any]:
    """Every row of both statements on every grid, at two ``now``s, keyed without the kWh."""
    found: dict[tuple, Any] = {}
    async with sessions() as session:
        for g, grid in enumerate(_grids()):
            for now in (now_ms(), MID):
                values = {
                    "site_ids": [site],
                    "lo": grid.lo,
                    "hi": grid.hi,
                    "level": grid.level_ms,
                    "now": now,
                    "max_gap": 900_000,
                }
                for name, sql in (("balance", balance_sql(grid)), ("meters", meters_sql(grid))):
                    for row in (await session.execute(sql, values)).all():
                        kwh = 4 if name == "balance" else len(row) - 1
                        rest = [v for i, v in enumerate(row) if i != kwh]
                        found[(g, now == MID, name, *rest)] = float(row[kwh])
    return found


async def _live_rows(sessions, site: int) -> dict[tuple, Any]:
    """The rows without the stored energy (no series marked complete), then marked again."""
    async with sessions() as session, session.begin():
        saved = (await session.execute(text("SELECT * FROM balance_energy_series"))).all()
        await session.execute(text("DELETE FROM balance_energy_series"))
    rows = await _rows(sessions, site)
    async with sessions() as session, session.begin():
        for a, m, cap in saved:
            await session.execute(
                text("INSERT INTO balance_energy_series VALUES (:a, :m, :cap)"),
                {"a": a, "m": m, "cap": cap},
            )
    return rows


def _assert_same(stored: dict, live: dict) -> None:
    assert stored.keys() == live.keys()
    bad = {k: (stored[k], live[k]) for k in live if abs(stored[k] - live[k]) > TOLERANCE_KWH}
    assert not bad, f"{len(bad)} of {len(live)} rows differ, e.g. {list(bad.items())[:3]}"


async def _stored_is_read(sessions, site: int, stored: dict) -> None:
    """Adding 1,000 kWh to every stored row changes the figures (the comparison above is not
    between two live computations)."""
    async with sessions() as session, session.begin():
        await session.execute(text("UPDATE balance_energy SET kwh = kwh + 1000"))
    changed = await _rows(sessions, site)
    async with sessions() as session, session.begin():
        await session.execute(text("UPDATE balance_energy SET kwh = kwh - 1000"))
    moved = sum(1 for k in stored if abs(changed[k] - stored[k]) > 1)
    assert moved > len(stored) // 4


async def test_stored_energy_gives_the_rows_of_the_segments(client, admin, app, sessions):
    """Rolled-up data with pending raw data on top; then the pending data rolled up (late data
    into old buckets: the stored energy of those buckets is recomputed); then retention of
    the 15-min and 1-h rollups older than two days (each series' first bucket recomputed)."""
    site, rolled, pending = await _fleet(client, admin)
    for start in range(0, len(rolled), 2000):
        await ingest(client, admin, rolled[start : start + 2000])
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    await ingest(client, admin, pending)

    stored = await _rows(sessions, site)
    _assert_same(stored, await _live_rows(sessions, site))
    await _stored_is_read(sessions, site, stored)

    await refresh_pending(sessions=sessions, settings=app.state.settings)
    stored = await _rows(sessions, site)
    _assert_same(stored, await _live_rows(sessions, site))
    await _stored_is_read(sessions, site, stored)

    kept = app.state.settings.model_copy(update={"retention_15m_days": 2, "retention_1h_days": 2})
    report = await apply_retention(sessions=sessions, settings=kept)
    assert report.rollups_deleted["15m"] > 0 and report.rollups_deleted["1h"] > 0
    stored = await _rows(sessions, site)
    _assert_same(stored, await _live_rows(sessions, site))
    await _stored_is_read(sessions, site, stored)


async def test_a_changed_hold_limit_recomputes_the_whole_series(client, admin, app, sessions):
    """The stored power energy holds a reading up to 2 x the asset's expected interval: after
    that interval changes, the balance computes the series from the rollups (not from stale
    rows), and the next refresh stores its whole history with the new limit."""
    site = await make_site(client, admin, "Cap")
    pv = await make_asset(client, admin, site, "PV", "solar_pv", expected_interval_s=300)
    # 10 kW every 20 min: held 10 min (2 x 300 s) at first, 20 min (up to the next) after
    await ingest(client, admin, [reading(pv, "power_kw", T + i * 20 * MIN, 10.0) for i in range(9)])
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    grid = make_grid(T, T + 3 * H, "1h")
    values = {
        "site_ids": [site],
        "lo": grid.lo,
        "hi": grid.hi,
        "level": grid.level_ms,
        "now": now_ms(),
        "max_gap": 900_000,
    }

    async def generation() -> list[float]:
        async with sessions() as session:
            rows = (await session.execute(balance_sql(grid), values)).all()
        return [round(float(r[4]), 9) for r in rows if r[2] == "generation"]

    assert await generation() == [5.0, 5.0, 5.0]  # 3 readings x 10 kW x 10 min per hour
    response = await client.patch(
        f"/api/v1/assets/{pv}", json={"expected_interval_s": 600}, headers=admin
    )
    assert response.status_code == 200, response.text
    # stale stored rows would give 5 kWh in the first two hours
    assert await generation() == [10.0, 10.0, 10.0]
    await ingest(client, admin, [reading(pv, "power_kw", T + 9 * 20 * MIN, 10.0)])
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    assert await generation() == [10.0, 10.0, 10.0]
    async with sessions() as session:
        cap = await session.scalar(
            text("SELECT cap_ms FROM balance_energy_series WHERE asset_id = :a"), {"a": pv}
        )
    assert cap == 1_200_000
