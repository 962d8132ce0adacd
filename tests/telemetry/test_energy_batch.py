"""``energies`` (many assets in a few statements) gives each asset what ``energy`` gives it, on
both back ends: registers with a reset, a gap and readings off the hour, one whose newest
readings are not rolled up yet, a power-only asset and one without data; periods on and off the
hour, and one without a whole hour."""

from __future__ import annotations

import pytest
from tests.insights.kpis.kpi_test_data import make_asset, make_site
from tests.telemetry.query_test_data import HOUR, MIN, T0, insert_readings, metric_id

from gridpilot.auth.permissions import Role
from gridpilot.telemetry.energy_batch import energies
from gridpilot.telemetry.energy_queries import energy
from gridpilot.telemetry.rollups import refresh_pending

PERIODS = [
    (T0 + 10 * MIN, T0 + 5 * HOUR + 20 * MIN),  # edges off the hour
    (T0, T0 + 3 * HOUR),  # on the hour: no raw head, the reading before the first rolled one
    (T0 + 5 * MIN, T0 + 50 * MIN),  # no whole hour
    (T0 - 2 * HOUR, T0 + 30 * MIN),  # starts before the data
]


async def test_energies_equal_energy_of_each_asset(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await make_site(client, admin, "Batch plant")
    names = ("steady", "reset", "pending", "power", "silent")
    ids = {n: await make_asset(client, admin, site, n, "machine") for n in names}
    register, power = await metric_id(sessions, "energy_kwh"), await metric_id(sessions, "power_kw")
    rows = []
    for k in range(-3, 75):  # every 5 min, 1.3 kWh a step, from 15 min before T0 to 6 h 10 min
        rows.append((ids["steady"], register, T0 + k * 5 * MIN + 17_000, 500.0 + 1.3 * k))
        if not 30 <= k < 36:  # half an hour without readings
            value = 4.0 + 0.7 * (k - 40) if k >= 40 else 900.0 + 2.1 * k  # a reset at k = 40
            rows.append((ids["reset"], register, T0 + k * 5 * MIN, value))
        rows.append((ids["pending"], register, T0 + k * 5 * MIN, 10.0 + 0.9 * k))
        rows.append((ids["power"], power, T0 + k * 5 * MIN, 20.0 + (k % 7)))
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    newer = [
        (ids["pending"], register, T0 + 2 * HOUR + k * MIN + 30_000, 40.0 + k) for k in range(9)
    ]
    await insert_readings(sessions, newer)  # not rolled up: pending from 2 h
    async with sessions() as session:
        for start, end in PERIODS:
            got = await energies(session=session, asset_ids=list(ids.values()), start_ms=start,
                                 end_ms=end, max_gap_s=900.0)  # fmt: skip
            assert list(got) == list(ids.values())
            for name, asset_id in ids.items():
                one = await energy(session=session, asset_id=asset_id, start_ms=start,
                                   end_ms=end, max_gap_s=900.0)  # fmt: skip
                batched = got[asset_id]
                assert batched.method == one.method, (name, start, end)
                assert batched.coverage == one.coverage, (name, start, end)
                assert batched.resets == one.resets, (name, start, end)
                if one.energy_kwh is None:
                    assert batched.energy_kwh is None, name
                else:
                    assert batched.energy_kwh == pytest.approx(one.energy_kwh, rel=1e-12), name
        assert got[ids["silent"]].method == "none"
