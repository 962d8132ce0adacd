"""The community's batteries (issue #23 item 6): home batteries behind three members' PODs,
two of them at one site, each its own asset driven inside its member's model. A battery
follows its own asset's commands (the flex MPC's set points) and its power is in the POD's
net power; its readings land under its own asset; the MPC plans the site's batteries as one
problem and sends each its own command."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tests.control.conftest import wait_for
from tests.flex.schedule_data import store_forecasts
from tests.insights.kpis.kpi_test_data import add_tariff
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.auth.permissions import Role
from gridpilot.cli.demo_flex import battery_params, simulated_batteries
from gridpilot.core.timestamps import MS_PER_DAY, iso, now_ms
from gridpilot.flex.tasks import FlexRuntime
from gridpilot.sim.backfill import backfill
from gridpilot.sim.commands import LocalCommandLink
from gridpilot.sim.community_scenario import COMMUNITY_PREFIX, community
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.model import apply_command, split_parts
from gridpilot.sim.provision import SimAsset, provision, with_parts
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.sim.sinks import IngestSink
from gridpilot.sim.storage_devices import Battery
from gridpilot.telemetry import service as telemetry_service

HOUR = 3_600_000
SEVEN_PM = JUNE_MONDAY + 17 * HOUR  # 19:00 in Rome (CEST)
ETA = math.sqrt(0.92)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """The app's own MPC loop off (its first round, a minute after start, could dispatch the
    step before the test's round on a busy machine); the test runs its rounds itself."""
    return {"flex_mpc_interval_s": 0}


def member_site(name: str):
    return next(s for s in community() if s.name == COMMUNITY_PREFIX + name)


def test_three_members_have_batteries_behind_their_pod_the_office_two():
    with_batteries = {
        s.name.removeprefix(COMMUNITY_PREFIX): [a.name for a in s.assets[1:]]
        for s in community()
        if len(s.assets) > 1
    }
    assert with_batteries == {
        "Household 07": ["Household 07 battery"],
        "Household 10": ["Household 10 battery"],
        "Office 3": ["Office 3 battery A", "Office 3 battery B"],
    }
    office = member_site("Office 3")
    member, first, second = office.assets
    assert [p for _, p in (first.part_of, second.part_of)] == ["battery-a", "battery-b"]
    assert {first.part_of[0], second.part_of[0]} == {member.device_id}
    assert (first.role, first.model.kind, first.topics) == ("storage", "battery", "fleet")
    assert dict(member.model.batteries) == {"battery-a": first.model, "battery-b": second.model}
    assert simulated_batteries()[office.name] == {
        "Office 3 battery A": first.model,
        "Office 3 battery B": second.model,
    }


def test_the_pod_meters_the_battery_and_the_battery_follows_its_own_commands():
    site = member_site("Household 07")
    member = site.assets[0]
    context = ctx(member.device_id, lat=site.latitude, lon=site.longitude)
    context.part("battery").state["soc_pct"] = 50.0
    command = {"power_kw": 3.0, "min_soc_pct": 10.0, "duration_s": 900}
    apply_command(context.part("battery").overrides, "discharge", command, SEVEN_PM)
    _, out = run(member.model, SEVEN_PM, 1 / 24, context)  # one hour, a sample a minute
    bare_ctx = ctx(member.device_id, lat=site.latitude, lon=site.longitude)
    _, bare = run(replace(member.model, batteries=()), SEVEN_PM, 1 / 24, bare_ctx)

    battery = out["battery:power_kw"]
    assert np.all(battery[:15] == pytest.approx(-3.0)) and np.all(battery[15:] == 0.0)
    # 0.75 kWh out of 10 kWh through sqrt(0.92)
    assert out["battery:soc_pct"][-1] == pytest.approx(50.0 - 0.75 / ETA / 10 * 100, abs=1e-9)
    # the household's own load and PV are what they are without a battery; the POD sees both
    assert np.array_equal(out["power_consumed_kw"], bare["power_consumed_kw"])
    assert np.array_equal(out["power_produced_kw"], bare["power_produced_kw"])
    assert out["power_kw"] == pytest.approx(bare["power_kw"] + battery, abs=1e-12)
    consumed = out["power_consumed_kw"]
    charge, discharge = np.maximum(battery, 0.0), np.maximum(-battery, 0.0)
    pod = out["power_kw"]  # the site balance's identity, minute by minute
    identity = np.maximum(pod, 0) - np.maximum(-pod, 0) + out["power_produced_kw"]
    assert identity + discharge - charge == pytest.approx(consumed, abs=1e-12)


def test_the_battery_registers_come_out_as_its_own_metrics():
    site = member_site("Office 3")
    member = site.assets[0]
    context = ctx(member.device_id, lat=site.latitude, lon=site.longitude)
    for name in ("battery-a", "battery-b"):
        context.part(name).state["soc_pct"] = 50.0
    apply_command(context.part("battery-a").overrides, "charge",
                  {"power_kw": 8.0, "duration_s": 1800}, SEVEN_PM)  # fmt: skip
    apply_command(context.part("battery-b").overrides, "discharge",
                  {"power_kw": 4.0, "duration_s": 900}, SEVEN_PM)  # fmt: skip
    accumulator = Accumulator({"battery-a:energy_kwh": 100.0})  # continued from its asset
    _, values = generate(member.model, context, SEVEN_PM, SEVEN_PM + HOUR, step_ms=900_000,
                         accumulator=accumulator)  # fmt: skip
    own, parts = split_parts(values)
    assert set(parts) == {"battery-a", "battery-b"}
    assert set(parts["battery-a"]) == {"power_kw", "soc_pct", "energy_kwh", "energy_export_kwh"}
    assert "energy_kwh" in own and not any(":" in key for key in own)
    assert parts["battery-a"]["power_kw"].tolist() == pytest.approx([8.0, 8.0, 0.0, 0.0])
    assert parts["battery-b"]["power_kw"].tolist() == pytest.approx([-4.0, 0.0, 0.0, 0.0])
    # a register's value at ts is the total up to ts: 2 kWh a quarter charged, 1 kWh out
    assert parts["battery-a"]["energy_kwh"].tolist() == pytest.approx([100, 102, 104, 104])
    assert parts["battery-b"]["energy_export_kwh"].tolist() == pytest.approx([0, 1, 1, 1])
    assert accumulator.values["battery-a:energy_kwh"] == pytest.approx(104.0)


class Recording:
    def __init__(self) -> None:
        self.sent: dict[int, dict[str, list[float]]] = {}

    async def send(self, asset: SimAsset, ts, values) -> None:
        mine = self.sent.setdefault(asset.asset_id, {})
        for metric, array in values.items():
            mine.setdefault(metric, []).extend(np.asarray(array).tolist())


async def test_the_live_simulator_sends_each_battery_under_its_asset_and_routes_commands():
    site = member_site("Office 3")
    member, first, second = site.assets
    parts = (("battery-a", SimAsset(2, 1, "community", site, first, "a")),
             ("battery-b", SimAsset(3, 1, "community", site, second, "b")))  # fmt: skip
    host = SimAsset(1, 1, "community", site, member, "pod", parts)
    sink = Recording()
    simulator = LiveSimulator([host], sink=sink)
    await simulator.prime(None)
    assert [a.asset_id for a in simulator.devices()] == [1, 2, 3]
    assert simulator.live[2].driver == 1 and simulator.live[2].ctx is simulator.live[1].ctx.part(
        "battery-a"
    )
    message = (
        b'{"command_id": 9, "kind": "discharge", "params": {"power_kw": 4, "duration_s": 900}}'
    )
    done = simulator.acknowledge(3, message)
    assert done[-1]["state"] == "succeeded", done
    refused = simulator.acknowledge(1, message.replace(b"9", b"10"))
    assert refused[-1]["state"] == "failed" and "not a battery" in refused[-1]["detail"]
    for live in simulator.live.values():
        live.next_ms -= 5 * 60_000  # five minutes to generate
    assert await simulator.tick() > 0
    pod, a, b = (sink.sent[i] for i in (1, 2, 3))
    assert set(a) == set(b) == {"power_kw", "soc_pct", "energy_kwh", "energy_export_kwh"}
    assert "voltage_v" in pod and "soc_pct" not in pod
    assert b["power_kw"] == pytest.approx([-4.0] * len(b["power_kw"]))
    assert len(pod["power_kw"]) == len(a["power_kw"]) == len(b["power_kw"]) >= 5
    net = np.array(pod["power_consumed_kw"]) - pod["power_produced_kw"]
    assert pod["power_kw"] == pytest.approx(net + a["power_kw"] + b["power_kw"], abs=1e-3)


async def test_backfill_stores_member_batteries_and_the_balance_holds(app, client, auth_headers):
    assets = await provision(
        sessions=app.state.sessions, bus=app.state.bus, scenarios=["community"]
    )
    assert len(assets) == 20 and len(with_parts(assets)) == 24  # 20 PODs, 4 batteries
    office = next(a for a in assets if a.spec.name == "Office 3")
    end = now_ms() // 900_000 * 900_000
    report = await backfill(
        [office], runtime=app.state.telemetry, seed=5, span_ms=MS_PER_DAY, step_ms=900_000,
        end_ms=end,
    )  # fmt: skip
    assert report.rejected == 0, report.reasons
    async with app.state.sessions() as session:
        latest = {
            part.spec.name: await telemetry_service.latest_values(
                session=session, asset_id=part.asset_id
            )
            for _, part in office.parts
        }
    for values in latest.values():
        assert {"power_kw", "soc_pct", "energy_kwh", "energy_export_kwh"} <= set(values)
        assert 10.0 - 1e-6 <= values["soc_pct"].value <= 90.0 + 1e-6
        assert values["energy_kwh"].value > 0  # its own pattern charged it at midday
    admin = await auth_headers(Role.ADMINISTRATOR)
    params = {"site": office.site_id, "start": iso(end - MS_PER_DAY), "end": iso(end)}
    response = await client.get("/api/v1/kpis", params=params, headers=admin)
    assert response.status_code == 200, response.text
    balance = response.json()["kpis"]["balance"]
    assert balance["charge_kwh"] > 0 and balance["discharge_kwh"] > 0, balance
    assert balance["points_without_data"] == []


def peak_this_local_hour(at_ms: int, timezone: str) -> dict:
    """0.50 EUR/kWh in the local hour holding ``at_ms``, 0.10 otherwise."""
    hour = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(timezone)).hour
    return {
        "currency": "EUR",
        "country": None,
        "default_rate_per_kwh": 0.10,
        "periods": [{"rate_per_kwh": 0.50, "start": f"{hour:02d}:00", "end": f"{hour + 1:02d}:00"}],
    }


async def test_the_mpc_dispatches_each_battery_of_a_member_and_the_simulator_follows(
    app, client, sessions, auth_headers
):
    assets = await provision(sessions=sessions, bus=app.state.bus, scenarios=["community"])
    office = next(a for a in assets if a.spec.name == "Office 3")
    telemetry = app.state.telemetry
    simulator = LiveSimulator([office], sink=IngestSink(telemetry))
    await simulator.prime(telemetry)
    assert await simulator.tick() > 0  # the minute holding now, each battery at 50 %
    await telemetry.flush()
    admin = await auth_headers(Role.ADMINISTRATOR)
    parts = dict(office.parts)

    async def online() -> bool:
        for part in parts.values():
            status = await client.get(f"/api/v1/assets/{part.asset_id}/status", headers=admin)
            if status.json().get("status") != "online":
                return False
        return True

    await wait_for(online, timeout_s=60)
    now = now_ms()
    site = office.site_id
    added = await add_tariff(client, admin, site, now - MS_PER_DAY,
                             peak_this_local_hour(now, office.site.timezone))  # fmt: skip
    assert added.status_code == 201, added.text
    await store_forecasts(sessions, site, 8.0, hours=26)  # 8 kW all day, no PV
    for part in parts.values():
        model = part.spec.model
        assert isinstance(model, Battery)
        body = {"kind": "battery", "name": part.spec.name, "asset_id": part.asset_id,
                "auto_dispatch": True, "params": battery_params(model)}  # fmt: skip
        made = await client.post(f"/api/v1/sites/{site}/flex-resources", json=body, headers=admin)
        assert made.status_code == 201, made.text

    (done,) = await FlexRuntime(app.state.settings, sessions, app.state.bus).run_once(at_ms=now)
    assert done.site_id == site and done.status == "optimal", done
    sent = {d.resource: d for d in done.dispatched}
    assert set(sent) == {"Office 3 battery A", "Office 3 battery B"}
    # the quarter holding now costs 0.50: the two batteries cover the 8 kW between them (how
    # they split it is the solver's choice: either may take all of it, an LP tie)
    assert sum(d.power_kw for d in sent.values()) == pytest.approx(8.0, abs=1e-3)
    schedule = (await client.get(f"/api/v1/sites/{site}/schedule", headers=admin)).json()
    planned = schedule["steps"][0]["batteries"]
    for name, d in sent.items():
        assert planned[name]["discharge_kw"] == pytest.approx(d.power_kw, abs=1e-3)
        assert d.asset_id == next(p.asset_id for p in parts.values() if p.spec.name == name)

    # a battery the solver leaves idle (the tie above) gets no command: nothing to do this step
    commanded = {name: d for name, d in sent.items() if d.command_id is not None}
    assert commanded, sent
    for name, d in sent.items():
        assert name in commanded or (d.skipped == "idle" and d.power_kw == 0.0), d

    link = LocalCommandLink(sessions, app.state.bus, simulator, 1.0)
    assert await link.deliver_pending() == len(commanded)
    for d in commanded.values():
        command = (await client.get(f"/api/v1/commands/{d.command_id}", headers=admin)).json()
        assert command["state"] == "succeeded", command
    # the member's model drives its batteries: the next minutes follow the dispatched set points
    host = simulator.live[office.asset_id]
    start = host.next_ms
    _, values = generate(office.spec.model, host.ctx, start, start + 5 * 60_000, step_ms=None,
                         accumulator=Accumulator())  # fmt: skip
    own, by_part = split_parts(values)
    total = np.zeros(5)
    for name, part in parts.items():
        power = by_part[name]["power_kw"]
        until = host.ctx.part(name).overrides.forced_until_ms
        if part.spec.name not in commanded:
            assert until is None  # idle this step: its own pattern drives it
        else:
            assert until is not None and until > start
            inside = np.arange(start, start + 5 * 60_000, 60_000) < until
            assert power[inside] == pytest.approx(-sent[part.spec.name].power_kw, abs=1e-6)
        total += power
    net = own["power_consumed_kw"] - own["power_produced_kw"]
    assert own["power_kw"] == pytest.approx(net + total, abs=1e-9)
