"""The PODs' hourly energy read from the stored hours of one-meter sites (``pod_hours``) equals
what the site balances of the whole period give (the path before), hour by hour and POD by POD,
and so does the shared energy: gaps, a prosumer, an export register that stops, a meter with
power only, a site with a PV meter behind its grid meter, a site without data, two
substations. Both back ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.community.community_data import add_member, make_community, make_plant
from tests.insights.balance.balance_data import ingest, reading
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.analytics.community.shared_energy import shared_energy, to_hourly
from gridpilot.balance.service import site_balances
from gridpilot.community import energy
from gridpilot.community.models import Community
from gridpilot.community.pod_hours import stored_hours
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.rollups import floor_to, refresh_pending

DAY = 86_400_000
H = 3_600_000
Q = 900_000
T0 = floor_to(now_ms() - 3 * DAY, DAY)
QUARTERS = 30 * 4  # the data: 30 hours of 15-min registers


def register(asset: int, metric: str, kwh: np.ndarray, skip: range = range(0)) -> list[dict]:
    """A register read every quarter hour from T0 (its steps ``kwh``), without ``skip``."""
    values = 100.0 + np.concatenate([[0.0], np.cumsum(kwh)])
    return [
        reading(asset, metric, T0 + k * Q, float(v)) for k, v in enumerate(values) if k not in skip
    ]


async def pod(client, admin, name: str, readings) -> tuple[int, int]:
    site = await make_site(client, admin, name)
    meter = await make_asset(client, admin, site, f"{name} meter", "grid_connection")
    data = readings(meter)
    if data:
        await ingest(client, admin, data)
    return site, meter


async def build(client, admin) -> int:
    rng = np.random.default_rng(18)
    load = rng.uniform(0.1, 1.0, QUARTERS)
    sun = np.clip(np.sin(np.arange(QUARTERS) / QUARTERS * np.pi), 0, None) * 2.0
    pods = [
        await pod(client, admin, "pv", lambda m: register(m, "energy_kwh", load)
                  + register(m, "energy_export_kwh", sun, skip=range(40, 52))),
        await pod(client, admin, "home", lambda m: register(m, "energy_kwh", load * 2,
                                                            skip=range(8, 13))),
        await pod(client, admin, "stops", lambda m: register(m, "energy_kwh", load)
                  + register(m, "energy_export_kwh", sun[:48])),
        await pod(client, admin, "power", lambda m: [
            reading(m, "power_kw", T0 + k * Q, float(v)) for k, v in enumerate(load * 4 - sun)
        ]),
        await pod(client, admin, "silent", lambda m: []),
        await pod(client, admin, "shop", lambda m: register(m, "energy_kwh", load * 3)),
    ]  # fmt: skip
    behind = await pod(client, admin, "pv behind", lambda m: register(m, "energy_kwh", load))
    panel = await make_asset(client, admin, behind[0], "panel", "solar_pv")
    await ingest(client, admin, register(panel, "energy_kwh", sun))
    pods.append(behind)
    cer = await make_community(client, admin, "PODHOURS")
    member = await add_member(client, admin, cer, "Ann")
    for i, (site, _) in enumerate(pods):
        await make_plant(
            client, admin, cer, member, f"IT001E{i:08d}", site=site,
            primary_substation="AC002" if i == 5 else "AC001",
        )  # fmt: skip
    return cer


async def reference(session, plants, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The path before: every site's balance over the whole period, its hours in place."""
    hours = (hi - lo) // H
    injected = np.full((hours, len(plants)), np.nan)
    withdrawn = np.full((hours, len(plants)), np.nan)
    ids = sorted({p.site_id for p in plants})
    sites = await site_balances(
        session=session, site_ids=ids, start_ms=lo, end_ms=hi, interval="1h"
    )
    for column, plant in enumerate(plants):
        site = sites[plant.site_id]
        rows = (np.asarray(site.edges[:-1]) - lo) // H
        injected[rows, column] = site.balance.values["export"]
        withdrawn[rows, column] = site.balance.values["import"]
    return injected, withdrawn


@pytest.mark.parametrize("hours", [(0, 24), (2, 40), (-5, 29)])
async def test_stored_hours_give_the_figures_of_the_site_balances(client, admin, sessions, hours):
    cer = await build(client, admin)
    await refresh_pending(sessions=sessions, settings=Settings())
    lo, hi = T0 + hours[0] * H, T0 + hours[1] * H
    async with sessions() as session:
        community = await session.get(Community, cer)
        plants = await energy.community_plants(session, cer)
        stored = await stored_hours(session, [p.site_id for p in plants], lo, hi, now_ms())
        assert len(stored.sites) == 5 and stored.tail > lo  # the one-meter sites, stored hours
        got = await energy.pod_energy(session, plants, lo, hi)
        injected, withdrawn = await reference(session, plants, lo, hi)
        figures = await energy.aggregate(session, community, lo, hi)
    assert np.array_equal(got.injected_kwh.to_numpy(), injected, equal_nan=True)
    assert np.array_equal(got.withdrawn_kwh.to_numpy(), withdrawn, equal_nan=True)
    assert np.isnan(withdrawn).any() and np.isnan(injected).any()  # gaps are unknown hours
    codes = [p.pod_code for p in plants]
    index = got.injected_kwh.index
    before = shared_energy(
        to_hourly(
            pd.DataFrame(injected, index=index, columns=codes),
            pd.DataFrame(withdrawn, index=index, columns=codes),
            index[0], index[-1] + pd.Timedelta(hours=1),
        ),
        [energy.pod_of(p, community) for p in plants],
    )  # fmt: skip
    assert figures.shared.groups == ("AC001", "AC002")
    for name in ("injected_kwh", "withdrawn_kwh", "shared_kwh"):
        assert np.array_equal(getattr(figures.shared, name), getattr(before, name), equal_nan=True)
    assert figures.shared.missing_hours == before.missing_hours
