"""The top consumers of the site energy report (both back ends): every consumer's energy in one
batch (``telemetry.energy_batch.energies``), equal to ``telemetry.energy`` asset by asset, in as
many statements for 6 register-metered consumers as for 2."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event
from tests.reports.report_data import QUARTER, START
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.auth.permissions import Principal, Role
from gridpilot.reports.kinds import BuildContext
from gridpilot.reports.kinds.energy_parts import consumers
from gridpilot.reports.targets import SITE, Target
from gridpilot.telemetry.rollups import refresh_pending
from gridpilot.telemetry.service import energy

DAYS = 3
ADMIN = Principal(subject="test", name="test", role=Role.ADMINISTRATOR)


async def _site(app, client, auth_headers, name: str, count: int) -> tuple[int, list[int]]:
    """A Rome site with ``count`` consumers whose ``energy_kwh`` registers count up by
    ``k`` kWh a quarter hour (a reset to 0 in the middle for the first)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await client.post(
        "/api/v1/sites", json={"name": name, "timezone": "Europe/Rome"}, headers=admin
    )
    site_id = site.json()["id"]
    ids = []
    for k in range(1, count + 1):
        made = await client.post(
            "/api/v1/assets",
            json={"site_id": site_id, "name": f"M{k}", "kind": "machine", "role": "consumer"},
            headers=admin,
        )
        ids.append(made.json()["id"])
    register = await metric_id(app.state.sessions, "energy_kwh")
    stamps = list(range(START - QUARTER, START + DAYS * 86_400_000 + QUARTER, QUARTER))
    rows = []
    for k, asset in enumerate(ids, start=1):
        value = 100.0
        for i, ts in enumerate(stamps):
            value = 0.0 if (k == 1 and i == len(stamps) // 2) else value + k
            rows.append((asset, register, ts, value))
    await insert_readings(app.state.sessions, rows)
    await refresh_pending(sessions=app.state.sessions, settings=app.state.settings)
    return site_id, ids


async def _table(app, site_id: int) -> tuple[list[list], int]:
    """The top consumers table of the site and the statements it took (on its session's
    connection: the app's background loops use others)."""
    statements: list[str] = []

    def count(*args) -> None:
        statements.append(args[2])

    async with app.state.sessions() as session:
        ctx = BuildContext(
            session=session, principal=ADMIN, target=Target(SITE, site_id, "s", "Europe/Rome"),
            start_ms=START, end_ms=START + DAYS * 86_400_000, now_ms=int(time.time() * 1000),
            settings=app.state.settings,
        )  # fmt: skip
        await consumers(ctx, [site_id], None, 10)  # caches (the metric catalogue) filled
        connection = (await session.connection()).sync_connection
        assert connection is not None
        event.listen(connection, "before_cursor_execute", count)
        try:
            table = await consumers(ctx, [site_id], None, 10)
        finally:
            event.remove(connection, "before_cursor_execute", count)
    return table.rows, len(statements)


async def test_top_consumers_are_batched_and_equal_energy(app, client, auth_headers):
    small, _ = await _site(app, client, auth_headers, "Small", 2)
    large, ids = await _site(app, client, auth_headers, "Large", 6)
    rows, many = await _table(app, large)
    _, few = await _table(app, small)
    assert many == few, (many, few)  # the assets, then energies' few statements
    end = START + DAYS * 86_400_000
    async with app.state.sessions() as session:
        expected = {
            f"M{k}": await energy(
                session=session, asset_id=asset, start_ms=START, end_ms=end,
                max_gap_s=app.state.settings.energy_max_gap_s,
            )
            for k, asset in enumerate(ids, start=1)
        }  # fmt: skip
    assert [r[0] for r in rows] == ["M6", "M5", "M4", "M3", "M2", "M1"]
    for name, kwh, _share, cover in rows:
        assert kwh == pytest.approx(expected[name].energy_kwh, rel=1e-12)
        assert cover == pytest.approx(100 * expected[name].coverage)
    # 3 days x 96 quarters of k kWh; M1 loses the step of its reset
    assert rows[0][1] == pytest.approx(6 * DAYS * 96)
    assert rows[-1][1] == pytest.approx(DAYS * 96 - 1)
