"""The stored path of the balance statements (``balance/stored_sql.py``: on a uniform grid of a
stored level the stored rows are read apart from the per-row choice of the counting series)
gives the rows of the general statement, on hand-built data of several sites: counter resets,
gaps, a register for part of the period, signed power, a sub-meter, a prosumer, several meters
per site, pending raw data and late data into old buckets; and the rows reach the same arrays
in ``balance.service`` as the former loop over the rows. Both back ends."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from tests.balance.test_stored_energy import MID, TOLERANCE_KWH, H, T, _fleet, _series
from tests.insights.balance.balance_data import ingest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.balance import stored_sql
from gridpilot.balance.grid import Grid, make_grid
from gridpilot.balance.queries import balance_sql, meters_sql
from gridpilot.balance.rows import from_rows
from gridpilot.balance.service import by_node, node_terms, read_energy
from gridpilot.balance.submeters import flows, flows_of_arrays
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """No background refresh: the test decides when pending data is rolled up."""
    return {"rollup_interval_s": 3600.0, "retention_interval_s": 3600.0}


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


def _grids() -> list[Grid]:
    return [
        make_grid(T + 2 * H, T + 26 * H, "15m"),
        make_grid(T + 50 * H, T + 70 * H, "15m"),
        make_grid(T, T + 72 * H, "1h"),
        make_grid(T + 30 * H + 900_000, T + 61 * H, "1h"),
    ]


async def _prosumer_site(client, admin) -> int:
    """A second site: a prosumer with net power (a 3-h gap), a consumer, and a consumer that
    reports for 10 h only (its site's consumption is not measured in the other hours)."""
    site = await make_site(client, admin, "Prosumer")
    home = await make_asset(
        client, admin, site, "Home", "household", role="prosumer", expected_interval_s=600
    )
    load = await make_asset(client, admin, site, "Pump", "meter")
    fan = await make_asset(client, admin, site, "Fan", "meter")
    net = lambda rnd, ts: round(rnd.uniform(-4, 6), 3)  # noqa: E731
    positive = lambda rnd, ts: round(rnd.uniform(0, 3), 3)  # noqa: E731
    await ingest(
        client,
        admin,
        [
            *_series(home, "power_kw", T, T + 20 * H, 10 * 60_000, net),
            *_series(home, "power_kw", T + 23 * H, T + 60 * H, 10 * 60_000, net),
            *_series(load, "power_kw", T + 5 * H, T + 60 * H, 15 * 60_000, positive),
            *_series(fan, "power_kw", T + 30 * H, T + 40 * H, 5 * 60_000, positive),
        ],
    )
    return site


async def _compare(sessions, sites: list[int]) -> int:
    """Every row of the stored path equals the general statement's; returns how many."""
    compared = 0
    async with sessions() as session:
        for grid in _grids():
            assert stored_sql.applies(grid)
            for now in (now_ms(), MID):
                values = {
                    "site_ids": sites,
                    "lo": grid.lo,
                    "hi": grid.hi,
                    "level": grid.level_ms,
                    "now": now,
                    "max_gap": 900_000,
                }
                for build, kwh in ((balance_sql, 4), (meters_sql, 4)):
                    fast = (await session.execute(build(grid), values)).all()
                    slow = (await session.execute(build(grid, fast=False), values)).all()
                    assert [r[:kwh] + r[kwh + 1 :] for r in fast] == [
                        r[:kwh] + r[kwh + 1 :] for r in slow
                    ]
                    diff = max(
                        (abs(a[kwh] - b[kwh]) for a, b in zip(fast, slow, strict=True)), default=0
                    )
                    assert diff <= TOLERANCE_KWH
                    compared += len(fast)
    return compared


async def test_the_stored_path_gives_the_rows_of_the_general_statement(
    client, admin, app, sessions
):
    site, rolled, pending = await _fleet(client, admin)
    for start in range(0, len(rolled), 2000):
        await ingest(client, admin, rolled[start : start + 2000])
    other = await _prosumer_site(client, admin)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    await ingest(client, admin, pending)  # pending raw data on top of the stored energy
    assert await _compare(sessions, [site, other]) > 1000
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    assert await _compare(sessions, [site, other]) > 1000


def _measured_by_loop(rows, roles, grid):
    """The former row loop of ``balance.service`` (``_measured``): the arrays it filled."""
    energy = {}
    for site_id, node_id, term, bucket, kwh, reporting, assets in rows:
        key = ((int(site_id), int(node_id)), str(term))
        if key not in energy:
            energy[key] = np.full(grid.n, np.nan)
        i = grid.index(int(bucket))
        if i is not None and int(reporting) == int(assets):
            energy[key][i] = float(kwh)
    return energy


async def test_the_arrays_equal_the_former_row_loop(client, admin, app, sessions):
    site, rolled, pending = await _fleet(client, admin)
    for start in range(0, len(rolled), 2000):
        await ingest(client, admin, rolled[start : start + 2000])
    other = await _prosumer_site(client, admin)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    await ingest(client, admin, pending)
    grid = make_grid(T, T + 72 * H, "1h")
    values = {
        "site_ids": [site, other],
        "lo": grid.lo,
        "hi": grid.hi,
        "level": grid.level_ms,
        "now": MID,
        "max_gap": 900_000,
    }
    async with sessions() as session:
        rows = (await session.execute(balance_sql(grid), values)).all()
        roles = await node_terms(session, [site, other])
        read = await read_energy(session, grid, values)  # PostgreSQL: arrays per point and term
    assert any(r[5] != r[6] for r in rows)  # some intervals not reported by every asset
    measured = by_node(from_rows(rows, grid))
    reported = set(measured)
    expected = _measured_by_loop(rows, roles, grid)
    assert reported == {node for node, _ in expected}
    assert read.keys() == expected.keys()
    found = defaultdict(int)
    for (node, term), array in expected.items():
        np.testing.assert_array_equal(measured[node][term], array)
        np.testing.assert_allclose(read[(node, term)], array, rtol=0, atol=TOLERANCE_KWH)
        found[term] += int(np.count_nonzero(~np.isnan(array)))
    assert found["import"] > 0 and found["export"] > 0 and found["generation"] > 0


async def test_the_meters_arrays_give_the_flows_of_the_rows(client, admin, app, sessions):
    """PostgreSQL reads the sub-meters' rows as arrays per asset and term (``meters_sql(...,
    arrays=True)``): the same flows as from the rows."""
    site, rolled, pending = await _fleet(client, admin)
    for start in range(0, len(rolled), 2000):
        await ingest(client, admin, rolled[start : start + 2000])
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    await ingest(client, admin, pending)
    async with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("arrays are read on PostgreSQL only")
        for grid in _grids():
            values = {
                "site_ids": [site],
                "lo": grid.lo,
                "hi": grid.hi,
                "level": grid.level_ms,
                "now": MID,
                "max_gap": 900_000,
            }
            rows = (await session.execute(meters_sql(grid), values)).all()
            arrays = (await session.execute(meters_sql(grid, arrays=True), values)).all()
            expected, found = flows(rows, grid), flows_of_arrays(arrays, grid)
            assert found.keys() == expected.keys() and len(expected) == 2
            for asset_id, flow in expected.items():
                np.testing.assert_array_equal(found[asset_id], flow)
