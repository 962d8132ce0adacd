"""Dispatch of DR events through the DR loop's step (explicit times) on both back ends: the
least-cost plan's commands at the start, the fallback after a failed or unacknowledged
command, a manual command winning, the under-target alert, and the stepped restore."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tests.dr.dispatch_data import (
    AHU,
    BESS,
    CHILLER,
    END,
    EV,
    PRESS,
    SEC,
    START,
    ack,
    ack_queued,
    add_resources,
    alerts_of,
    create_event,
    detail,
    dr_site,
    flex_schedule,
    live_steps,
)
from tests.dr.dr_data import QUARTER, ZONE, iso_utc, local_ms, profile, quarters, store_power
from tests.dr.test_webhook import notification, post, site_with_history, utility

from gridpilot.core.timestamps import now_ms
from gridpilot.dr.tasks import DrRuntime

MIN = 60 * SEC


async def test_plan_commands_under_target_alert_and_stepped_restore(app, client, admin):
    """Target 60 kW. BESS (40 kW, 0.05 EUR/kWh of wear) + AHU (20 kW at 2 degC, 2 EUR/(degC h)
    / 10 kW/degC = 0.20 EUR/kWh): 40 x 2 h x 0.05 + 20 x 2 h x 0.20 = 12.00 EUR; the chiller
    (0.50) and the EV charger (0.30) are dearer. Nothing is really curtailed (the metered data
    are the history's): under target. After the end the AHU steps back a degree per quarter."""
    site, meter = await dr_site(app, client, admin, "Dispatch A")
    ids = await add_resources(client, admin, site, meter, BESS, AHU, CHILLER, EV)
    event = await create_event(client, admin, site, 60.0)
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    raised: list[dict] = []

    async def on_alert(topic: str, payload: dict) -> None:
        raised.append(payload)

    app.state.bus.subscribe("alert.raised", on_alert)

    await runtime.step(START + 30 * SEC)
    found = await detail(client, admin, event)
    plan = found["dispatch"]
    assert plan["status"] == "active" and plan["solver_status"] == "optimal"
    assert plan["planned_kw"] == 60.0 and plan["shortfall_kw"] == 0.0
    assert plan["cost_eur"] == "12.00"
    # the hour before 14:00 on the 25th: level 125 kW + shape 13.00..13.75 kW
    assert plan["pre_event_kw"] == pytest.approx(138.375)
    # the battery: one discharge per interval, each to the interval's end + 60 s (the next
    # one overlaps it), the last to the event's end; never a stop
    assert live_steps(found)[:2] == [
        ("shed", "BESS", 40.0, "discharge",
         {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 930}, "queued"),
        ("shed", "AHU", 20.0, "setpoint", {"temperature_c": 24.0}, "queued"),
    ]  # fmt: skip
    battery = [s for s in live_steps(found) if s[1] == "BESS"]
    assert [(s[4]["duration_s"], s[5]) for s in battery] == [
        (930, "queued"),
        *[(960, "pending")] * 6,
        (900, "pending"),
    ]
    commands = (await client.get(f"/api/v1/assets/{ids['AHU']['asset_id']}/commands",
                                 headers=admin)).json()  # fmt: skip
    assert [(c["kind"], c["params"], c["created_by"]) for c in commands] == [
        ("setpoint", {"temperature_c": 24.0}, "system:dr")
    ]
    await ack_queued(app, client, admin, event)

    await runtime.step(START + 16 * MIN)  # the first quarter is metered: no reduction
    await ack_queued(app, client, admin, event)  # the battery's discharge for 14:15
    (alert,) = [a for a in await alerts_of(app, site) if a.kind == "dr_under_target"]
    assert alert.severity == "warning" and "14:00 (Europe/Rome)" in alert.message
    assert "target 60.0 kW" in alert.message
    assert [p["alert_id"] for p in raised] == [alert.id]
    await runtime.step(START + 31 * MIN)  # once per event
    await ack_queued(app, client, admin, event)
    assert len([a for a in await alerts_of(app, site) if a.kind == "dr_under_target"]) == 1

    await runtime.step(END + 30 * SEC)
    found = await detail(client, admin, event)
    assert found["dispatch"]["status"] == "restoring"
    restore = [s for s in found["dispatch"]["steps"] if s["phase"] == "restore"]
    # the battery's last discharge went out at 14:31 for 14:30-14:45 (this test steps the loop
    # only then) and ran out long before the end: nothing to release. 16:00: the AHU goes back
    # 1 degC; 16:15: the rest
    assert [
        (s["start"][11:16], s["resource"], s["reduction_kw"], s["command_params"], s["state"])
        for s in restore
    ] == [
        ("15:00", "AHU", 10.0, {"temperature_c": 23.0}, "queued"),
        ("15:15", "AHU", 0.0, {"temperature_c": 22.0}, "pending"),
    ]  # fmt: skip (UTC: Rome is UTC+1 in November)
    assert not [s for s in found["dispatch"]["steps"] if s["command_kind"] in ("stop", "start")]
    ahu_restore = restore[0]
    await ack(app, ahu_restore["asset_id"], ahu_restore["command_id"], "succeeded")
    await runtime.step(END + 15 * MIN + 30 * SEC)
    found = await detail(client, admin, event)
    last = found["dispatch"]["steps"][-1]
    assert last["state"] == "queued" and last["command_params"] == {"temperature_c": 22.0}
    await ack(app, last["asset_id"], last["command_id"], "succeeded")
    await runtime.step(END + 16 * MIN)
    assert (await detail(client, admin, event))["dispatch"]["status"] == "done"
    assert found["intervals"][0]["target_kw"] == pytest.approx(
        found["intervals"][0]["baseline_kw"] - 60.0
    )


async def test_a_failed_then_an_unacknowledged_command_fall_back(app, client, admin):
    """The AHU's setpoint fails: manual-intervention alert naming it, re-plan without it:
    BESS 30 + chiller 30 (the chiller's 0.50 EUR/kWh + 10 % rebound x 0.25 = 0.525: 30 x 0.05
    + 30 x 0.525 = 17.25 EUR/h, against BESS 40 + EV 16 + chiller 30 = 22.55 and BESS 40 +
    EV 16 short of 60). The chiller's stop is never
    acknowledged: after 60 s it counts as failed too, and BESS 40 + EV 16 is all that is left
    (4 kW short)."""
    site, meter = await dr_site(app, client, admin, "Dispatch B")
    ids = await add_resources(client, admin, site, meter, BESS, AHU, CHILLER, EV)
    event = await create_event(client, admin, site, 60.0)
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)

    await runtime.step(START)
    steps = (await detail(client, admin, event))["dispatch"]["steps"]
    bess, ahu = steps[:2]
    assert (bess["resource"], ahu["resource"]) == ("BESS", "AHU")
    await ack(app, bess["asset_id"], bess["command_id"], "acknowledged", "succeeded")
    await ack(app, ahu["asset_id"], ahu["command_id"], "failed", detail="BMS timeout")

    await runtime.step(START + MIN)
    found = await detail(client, admin, event)
    plan = found["dispatch"]
    assert plan["revision"] == 1 and plan["excluded_resource_ids"] == [ids["AHU"]["id"]]
    assert plan["cost_eur"] == "34.50"  # 17.25 EUR/h over the 2 h still planned
    assert live_steps(found)[:4] == [
        ("shed", "BESS", 40.0, "discharge",
         {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 960}, "succeeded"),
        ("shed", "AHU", 20.0, "setpoint", {"temperature_c": 24.0}, "failed"),
        ("shed", "BESS", 30.0, "discharge",
         {"power_kw": 30.0, "min_soc_pct": 10.0, "duration_s": 900}, "queued"),
        ("shed", "Chiller", 30.0, "stop", {}, "queued"),
    ]  # fmt: skip
    later = live_steps(found)[4:]  # the battery's next intervals, at 30 kW, sent when due
    assert {(s[1], s[2], s[5]) for s in later} == {("BESS", 30.0, "pending")} and len(later) == 7
    (manual,) = [a for a in await alerts_of(app, site) if a.kind == "dr_manual_intervention"]
    assert manual.severity == "critical" and manual.asset_id == ids["AHU"]["asset_id"]
    assert f"command {ahu['command_id']}" in manual.message and "BMS timeout" in manual.message
    assert "(set-point 24 °C) to AHU" in manual.message  # words and units, no dict
    assert "failed: BMS timeout" in manual.message and "{" not in manual.message
    assert manual.detail["command_id"] == ahu["command_id"]
    new_bess = next(s for s in plan["steps"] if s["revision"] == 1 and s["resource"] == "BESS")
    await ack(app, new_bess["asset_id"], new_bess["command_id"], "succeeded")

    await runtime.step(START + 2 * MIN + 1 * SEC)  # the chiller's stop: 61 s without an ack
    found = await detail(client, admin, event)
    plan = found["dispatch"]
    assert plan["revision"] == 2 and plan["shortfall_kw"] == 4.0
    states = [(s["resource"], s["revision"], s["reduction_kw"], s["command_params"], s["state"])
              for s in plan["steps"]
              if s["revision"] >= 1 and s["state"] not in ("superseded", "pending")]  # fmt: skip
    assert states == [
        ("BESS", 1, 30.0, {"power_kw": 30.0, "min_soc_pct": 10.0, "duration_s": 900},
         "succeeded"),
        ("Chiller", 1, 30.0, {}, "timed_out"),
        ("BESS", 2, 40.0, {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 839},
         "queued"),
        ("EV", 2, 16.0, {"limit_kw": 6.0}, "queued"),
    ]  # fmt: skip
    manual = [a for a in await alerts_of(app, site) if a.kind == "dr_manual_intervention"]
    assert len(manual) == 2 and "(stop) to Chiller" in manual[1].message
    assert "timed out after 60 s without an acknowledgement" in manual[1].message
    assert manual[1].asset_id == ids["Chiller"]["asset_id"]


async def test_a_manual_command_wins_over_dispatch(app, client, admin):
    """An operator's command in force on the battery: the plan goes on without it. AHU 20 +
    EV 16 = 36 < 60, so the chiller (30, on/off) is needed, and the rest comes from the cheaper
    AHU (0.20 EUR/kWh) first: AHU 20 + chiller 30 + EV 10."""
    site, meter = await dr_site(app, client, admin, "Dispatch C")
    ids = await add_resources(client, admin, site, meter, BESS, AHU, CHILLER, EV)
    event = await create_event(client, admin, site, 60.0)
    manual = await client.post(
        f"/api/v1/assets/{ids['BESS']['asset_id']}/commands",
        json={"kind": "charge", "params": {"power_kw": 10}, "ttl_s": 3600},
        headers=admin,
    )
    assert manual.status_code in (201, 202), manual.text
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    await runtime.step(local_ms("2026-11-25 14:00"))
    found = await detail(client, admin, event)
    plan = found["dispatch"]
    assert plan["excluded_resource_ids"] == []
    note = f"rev 0: BESS: manual command {manual.json()['id']} is in force: it wins"
    assert note in plan["notes"]
    rows = [(s["resource"], s["reduction_kw"], s["command_params"], s["state"])
            for s in plan["steps"]]  # fmt: skip
    assert sorted(rows) == [
        ("AHU", 20.0, {"temperature_c": 24.0}, "queued"),
        ("Chiller", 30.0, {}, "queued"),
        ("EV", 10.0, {"limit_kw": 12.0}, "queued"),
    ]
    assert not [a for a in await alerts_of(app, site) if a.kind == "dr_manual_intervention"]


async def test_a_notified_event_already_started_is_dispatched_in_the_same_step(app, client, admin):
    """A utility notifies an event that started this quarter hour: the step that makes the
    event starts it and queues the battery's discharge of the whole target at once."""
    site = await site_with_history(app, client, admin, "Notified plant")
    battery = await client.post(
        "/api/v1/assets", json={"site_id": site, "name": "BESS", "kind": "battery"}, headers=admin
    )
    resource = {**BESS, "asset_id": battery.json()["id"]}
    made = await client.post(f"/api/v1/sites/{site}/flex-resources", json=resource, headers=admin)
    assert made.status_code == 201, made.text
    util = await utility(client, admin, [site])
    start = now_ms() - now_ms() % QUARTER
    local = dt.datetime.fromtimestamp(start / 1000, ZoneInfo(ZONE))
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), local.tzinfo)
    end = min(start + 4 * QUARTER, int(midnight.timestamp() * 1000))  # one local day at most
    body = {**notification([site]), "event_start": iso_utc(start),
            "event_end": iso_utc(end)}  # fmt: skip
    assert (await post(client, util["secret"], body)).status_code == 202
    await DrRuntime(app.state.settings, app.state.sessions, app.state.bus).step()
    (event,) = (await client.get("/api/v1/dr-events", headers=admin)).json()
    found = await detail(client, admin, event["id"])
    assert found["status"] == "active" and found["source"] == "utility_webhook"
    step, *later = found["dispatch"]["steps"]  # one discharge per interval, the first queued
    assert step["command_kind"] == "discharge" and step["state"] == "queued"
    assert step["command_params"]["power_kw"] == round(found["target_reduction_kw"], 3)
    assert {s["state"] for s in later} <= {"pending"} and len(later) == (end - start) // QUARTER - 1


async def test_a_deferred_press_is_paid_back_and_a_battery_goes_back_to_its_schedule(
    app, client, admin
):
    """The press draws 120 kW (its reading at 13:55), its window runs to 22:00: capped, 0.10
    EUR/kWh. The battery (0.05 EUR/kWh of wear) belongs to the flex schedule (auto_dispatch),
    which charges it at 20 kW from 16:00. Target 80 kW: battery 40 + press 40 (a 80 kW limit).
    The battery discharges one interval at a time (no stop, ever); at the end it is handed the
    schedule's charge, and the press is released to 120 + 40 = 160 kW (its make-up at about
    the rate it was held) and, 8 intervals later, to its 200 kW."""
    site, meter = await dr_site(app, client, admin, "Dispatch D")
    bess = {**BESS, "auto_dispatch": True}
    ids = await add_resources(client, admin, site, meter, bess, PRESS)
    await store_power(app, ids["Press"]["asset_id"], np.array([START - 5 * MIN]), np.array([120.0]))
    await flex_schedule(app, site, END - 4 * QUARTER, 16, {"BESS": (20.0, 0.0)})
    event = await create_event(client, admin, site, 80.0)
    during = quarters(START, END + QUARTER)  # the meter sees the press and the battery obey
    await store_power(app, meter, during, profile(during) - 90.0)
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    await runtime.step(START)
    found = await detail(client, admin, event)
    assert found["dispatch"]["planned_kw"] == 80.0 and found["dispatch"]["cost_eur"] == "12.00"
    assert live_steps(found)[:2] == [
        ("shed", "BESS", 40.0, "discharge",
         {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 960}, "queued"),
        ("shed", "Press", 40.0, "set_power_limit", {"limit_kw": 80.0}, "queued"),
    ]  # fmt: skip
    for minute in range(0, 120, 15):  # the loop's steps through the event, devices obeying
        await runtime.step(START + minute * MIN + 10 * SEC)
        await ack_queued(app, client, admin, event)
    await runtime.step(END + 10 * SEC)
    found = await detail(client, admin, event)
    assert found["dispatch"]["revision"] == 0  # the target was met: no re-plan
    sent = [s for s in found["dispatch"]["steps"] if s["command_id"] is not None]
    assert [s["command_params"]["power_kw"] for s in sent if s["resource"] == "BESS"
            and s["phase"] == "shed"] == [40.0] * 8  # fmt: skip
    assert not [s for s in found["dispatch"]["steps"] if s["command_kind"] in ("stop", "start")]
    restore = [(s["resource"], s["start"][11:16], s["command_kind"], s["command_params"])
               for s in found["dispatch"]["steps"] if s["phase"] == "restore"]  # fmt: skip
    handed = {"power_kw": 20.0, "target_soc_pct": 90.0, "duration_s": 900}
    assert ("BESS", "15:00", "charge", handed) in restore  # the schedule's step from 16:00
    # 16:00: 85.6 kW of headroom under the pre-event 138.4 kW; the battery first (no rebound),
    # then 22.8 kW of the press (its make-up doubles what it takes); the rest at the last step
    press = [(r[1], r[3]["limit_kw"]) for r in restore if r[0] == "Press"]
    assert press == [("15:00", 102.788), ("16:45", 160.0), ("18:45", 200.0)]
    assert "released at the last restore step: Press" in found["dispatch"]["notes"]
