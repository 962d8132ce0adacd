"""Office building loads and energy community members."""

from __future__ import annotations

import numpy as np
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.sim.buildings import BuildingHvac, CommunityMember, Lighting, PlugLoads
from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR
from gridpilot.sim.community_scenario import community
from gridpilot.sim.model import Overrides

LAT, LON = 45.464, 9.190


def _at_local_hour(t, values, hour):
    local = ((t - JUNE_MONDAY) / MS_PER_HOUR + 2) % 24
    return values[(local >= hour) & (local < hour + 1)].mean()


def test_office_loads_follow_occupancy():
    for model in (BuildingHvac(), Lighting(LAT, LON), PlugLoads()):
        t, out = run(model, JUNE_MONDAY, 1, ctx(model.kind, lat=LAT, lon=LON))
        assert _at_local_hour(t, out["power_kw"], 11) > 1.5 * _at_local_hour(t, out["power_kw"], 3)
    t, sunday = run(PlugLoads(), JUNE_MONDAY + 6 * MS_PER_DAY, 1)
    assert sunday["power_kw"].max() < 8.5


def test_curtailable_loads_obey_commands():
    context = ctx("hvac", lat=LAT, lon=LON)
    _, free = run(BuildingHvac(), JUNE_MONDAY, 1, context)
    context.overrides = Overrides(power_limit_kw=40.0)
    _, limited = run(BuildingHvac(), JUNE_MONDAY, 1, context)
    assert free["power_kw"].max() > 45 and limited["power_kw"].max() <= 40
    context.overrides = Overrides(setpoint=25.0)
    _, warmer = run(BuildingHvac(), JUNE_MONDAY, 1, context)
    assert warmer["power_kw"].sum() < free["power_kw"].sum()
    context.overrides = Overrides(running=False)
    _, stopped = run(BuildingHvac(), JUNE_MONDAY, 1, context)
    assert np.all(stopped["power_kw"] == 0)


def test_community_has_members_with_pod_codes_and_some_pv():
    sites = community()
    # one POD per site; a few have batteries behind it, driven by the POD's model
    assert all(sum(a.part_of is None for a in site.assets) == 1 for site in sites)
    assert all(a.part_of[0] == site.assets[0].device_id for site in sites for a in site.assets[1:])
    assets = [site.assets[0] for site in sites]
    assert 10 <= len(assets) <= 30
    pods = [a.attributes["pod_code"] for a in assets]
    assert len(set(pods)) == len(pods) and all(
        p.startswith("IT001E") and len(p) == 14 for p in pods
    )
    with_pv = [a for a in assets if a.model.pv_kw > 0]
    assert 3 <= len(with_pv) < len(assets)
    assert {a.attributes["primary_substation"] for a in assets} == {"AC001E00345", "AC001E00346"}


def test_member_with_pv_produces_by_day_and_reports_cer_quantities():
    member = CommunityMember(41.1, 16.9, "household", 0.25, 1.2, pv_kw=4.5)
    t, out = run(member, JUNE_MONDAY, 1, ctx("home", lat=41.1, lon=16.9))
    assert _at_local_hour(t, out["power_produced_kw"], 13) > 1.5
    assert out["power_produced_kw"][((t - JUNE_MONDAY) / MS_PER_HOUR + 2) % 24 < 4].max() == 0
    assert _at_local_hour(t, out["power_consumed_kw"], 20) > _at_local_hour(
        t, out["power_consumed_kw"], 3
    )
    np.testing.assert_allclose(out["power_kw"], out["power_consumed_kw"] - out["power_produced_kw"])
    assert out["power_kw"].min() < 0  # exports at midday
    assert out["voltage_v"].min() >= 223 and out["voltage_v"].max() <= 237
    assert np.all(np.abs(out["frequency_hz"] - 50) < 0.1)
    assert np.all((out["power_factor"] >= 0.9) & (out["power_factor"] <= 0.99))
