"""Which series of an asset counts for a term (docs/site-energy.md): a register with data in
the period before power, the first of the catalogue's list before the next, decided per asset
and term over the whole period; raw and rolled up, both back ends."""

from __future__ import annotations

import pytest
from tests.insights.balance.balance_data import (
    T0,
    Q,
    balance,
    column,
    ingest,
    power,
    reading,
    register,
)
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def _store(client, admin, app, sessions, readings, rolled_up: bool) -> None:
    await ingest(client, admin, readings)
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_a_register_for_part_of_the_period_replaces_power_for_all_of_it(
    client, admin, app, sessions, rolled_up
):
    """A load meter's power (4 kW, 1 kWh per interval) and its register from T0 + 2Q only
    (steps 2 and 3 kWh): the register has data in the period, so it counts and power does not,
    also where the register is silent (intervals 0 and 1 unknown, not 1 kWh of power)."""
    site = await make_site(client, admin, "Part register")
    load = await make_asset(client, admin, site, "Load", "meter")
    readings = [
        *power(load, [4.0, 4.0, 4.0, 4.0]),
        reading(load, "energy_kwh", T0 + 2 * Q, 10.0),
        reading(load, "energy_kwh", T0 + 3 * Q, 12.0),
        reading(load, "energy_kwh", T0 + 4 * Q, 15.0),
    ]
    await _store(client, admin, app, sessions, readings, rolled_up)
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [None, None, 2.0, 3.0]


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_a_register_without_a_step_in_the_period_leaves_power_counting(
    client, admin, app, sessions, rolled_up
):
    """One register reading alone spans no step: the register has no data in the period, and
    the load's power counts in every interval."""
    site = await make_site(client, admin, "Lone register")
    load = await make_asset(client, admin, site, "Load", "meter")
    readings = [*power(load, [4.0, 8.0, 4.0, 8.0]), reading(load, "energy_kwh", T0 + Q, 10.0)]
    await _store(client, admin, app, sessions, readings, rolled_up)
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [1.0, 2.0, 1.0, 2.0]


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_the_first_power_metric_of_the_list_counts_even_for_part_of_the_period(
    client, admin, app, sessions, rolled_up
):
    """``power_kw`` comes before ``power_consumed_kw`` for a consumer: with data in intervals
    0 and 1 only, it counts and the other one (in every interval) does not."""
    site = await make_site(client, admin, "Two powers")
    load = await make_asset(client, admin, site, "Load", "meter")
    metric = {"key": "power_consumed_kw", "unit": "kW"}
    created = await client.post("/api/v1/metrics", json=metric, headers=admin)
    assert created.status_code in (201, 409), created.text
    readings = [reading(load, "power_kw", T0 + i * Q, 4.0) for i in range(2)] + [
        reading(load, "power_consumed_kw", T0 + i * Q, 20.0) for i in range(4)
    ]
    await _store(client, admin, app, sessions, readings, rolled_up)
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [1.0, 1.0, None, None]


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_an_import_register_leaves_export_to_the_negative_power(
    client, admin, app, sessions, rolled_up
):
    """A main meter with an import register (1 kWh per interval) and signed power (8 kW, then
    -4 kW in interval 3): import comes from the register only, export from power's negative
    part (1 kWh in interval 3), decided per term."""
    site = await make_site(client, admin, "Import register")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    readings = register(main, "energy_kwh", [0.0, 1.0, 2.0, 3.0, 4.0]) + power(
        main, [8.0, 8.0, 8.0, -4.0]
    )
    await _store(client, admin, app, sessions, readings, rolled_up)
    body = await balance(client, admin, site)
    assert column(body, "import") == [1.0, 1.0, 1.0, 1.0]
    assert column(body, "export") == [0.0, 0.0, 0.0, 1.0]
