"""Test data of the dispatch tests: the Rome site of ``dr_data`` with its history, an event on
Wednesday 25 November 2026 14:00-16:00 local, flexible resources on their own assets, and
device acknowledgements through the control service."""

from __future__ import annotations

from sqlalchemy import select
from tests.dr.dr_data import iso_utc, local_ms, make_site, profile, quarters, store_power

from gridpilot.alerts.models import Alert
from gridpilot.control import service as control
from gridpilot.core.timestamps import now_ms as clock_ms

START, END = local_ms("2026-11-25 14:00"), local_ms("2026-11-25 16:00")
SEC = 1000

BESS = {
    "kind": "battery",
    "name": "BESS",
    "params": {
        "capacity_kwh": 100,
        "charge_max_kw": 40,
        "discharge_max_kw": 40,
        "soc_start_pct": 90,
        "soc_min_pct": 10,
        "discharge_efficiency": 1.0,
        "cycle_cost_eur_per_kwh": 0.1,
    },
}
AHU = {"kind": "hvac", "name": "AHU", "params": {"kw_per_degc": 10, "max_offset_degc": 2}}
CHILLER = {
    "kind": "curtailable_load",
    "name": "Chiller",
    "params": {"shed_kw": 30, "cost_eur_per_kwh": 0.5, "rebound_pct": 10},
}
EV = {"kind": "ev_charger", "name": "EV", "params": {"power_max_kw": 22, "power_min_kw": 6}}
ASSET_KIND = {"BESS": "battery", "AHU": "hvac", "Chiller": "chiller", "EV": "ev_charger"}


async def dr_site(app, client, headers, name: str) -> tuple[int, int]:
    """A site whose meter has the ``dr_data`` profile from 12 October to 26 November."""
    site, meter = await make_site(client, headers, name)
    ts = quarters(local_ms("2026-10-12 00:00"), local_ms("2026-11-26 00:00"))
    await store_power(app, meter, ts, profile(ts))
    return site, meter


async def add_resources(client, headers, site: int, meter: int, *bodies: dict) -> dict[str, dict]:
    """Each resource on an asset of its own (consumers under the meter); name -> ids."""
    out: dict[str, dict] = {}
    for body in bodies:
        asset_body = {"site_id": site, "name": body["name"], "kind": ASSET_KIND[body["name"]]}
        if body["kind"] != "battery":
            asset_body["parent_asset_id"] = meter
        asset = await client.post("/api/v1/assets", json=asset_body, headers=headers)
        assert asset.status_code == 201, asset.text
        resource = await client.post(
            f"/api/v1/sites/{site}/flex-resources",
            json={**body, "asset_id": asset.json()["id"]},
            headers=headers,
        )
        assert resource.status_code == 201, resource.text
        out[body["name"]] = {"asset_id": asset.json()["id"], "id": resource.json()["id"]}
    return out


async def create_event(client, headers, site: int, target_kw: float) -> int:
    answer = await client.post(
        "/api/dr-events",
        json={"facility_id": site, "event_start": iso_utc(START), "event_end": iso_utc(END),
              "target_reduction_kw": target_kw},
        headers=headers,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return int(answer.json()["event_id"])


async def detail(client, headers, event: int) -> dict:
    answer = await client.get(f"/api/v1/dr-events/{event}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def live_steps(found: dict) -> list[tuple]:
    """(phase, resource, reduction, command kind, params, state) of the steps not superseded."""
    return [
        (s["phase"], s["resource"], s["reduction_kw"], s["command_kind"], s["command_params"],
         s["state"])
        for s in found["dispatch"]["steps"] if s["state"] != "superseded"
    ]  # fmt: skip


async def ack(app, asset_id: int, command_id: int, *states: str, detail: str | None = None):
    """The device's acknowledgements, in order (``acknowledged``, ``succeeded``/``failed``)."""
    async with app.state.sessions() as session, session.begin():
        await control.transition(
            session=session, command_id=command_id, to="sent", at_ms=clock_ms(), actor="test"
        )
        for state in states:
            await control.apply_ack(
                session=session, asset_id=asset_id, command_id=command_id, state=state,
                detail=detail, received_ms=clock_ms(),
            )  # fmt: skip


async def ack_queued(app, client, headers, event: int) -> None:
    """The devices acknowledge every command of the event's dispatch still queued."""
    for step in (await detail(client, headers, event))["dispatch"]["steps"]:
        if step["command_id"] is not None and step["state"] == "queued":
            await ack(app, step["asset_id"], step["command_id"], "acknowledged", "succeeded")


async def alerts_of(app, site: int) -> list[Alert]:
    async with app.state.sessions() as session:
        query = select(Alert).where(Alert.site_id == site).order_by(Alert.id)
        return list((await session.scalars(query)).all())


PRESS = {
    "kind": "deferrable_load",
    "name": "Press",
    "params": {"energy_kwh": 800, "power_max_kw": 200, "window_start": "06:00",
               "window_end": "22:00"},
}  # fmt: skip
ASSET_KIND["Press"] = "injection_molding"


async def flex_schedule(app, site: int, start_ms: int, steps: int, batteries: dict) -> None:
    """A stored flex schedule of ``steps`` quarters from ``start_ms``: ``batteries`` name ->
    (charge kW, discharge kW) in every step (the flex domain's table, as its MPC stores it)."""
    from gridpilot.flex.models import FlexSchedule

    zero = [0.0] * steps
    costs = ("energy_eur", "demand_charge_eur", "wear_eur", "shed_eur", "total_eur")
    money = dict.fromkeys(costs, "0.00")
    saved = ("optimised_eur", "no_battery_eur", "rule_based_eur", "saving_vs_no_battery_eur",
             "saving_vs_rule_based_eur")  # fmt: skip
    savings = dict.fromkeys(saved, "0.00")
    series: dict[str, object] = {
        key: zero for key in ("load_kw", "pv_kw", "pv_curtailed_kw", "import_kw", "export_kw",
                              "price_eur_per_kwh", "export_price_eur_per_kwh")
    }  # fmt: skip
    series["batteries"] = {
        name: {"charge_kw": [c] * steps, "discharge_kw": [d] * steps, "soc_pct": [50.0] * steps}
        for name, (c, d) in batteries.items()
    }
    series |= {"deferrable_kw": {}, "ev_kw": {}, "shed_kw": {}, "max_balance_residual_w": 0.0}
    async with app.state.sessions() as session, session.begin():
        session.add(FlexSchedule(
            site_id=site, created_ms=start_ms, created_by="system:flex", start_ms=start_ms,
            step_s=900, horizon=steps, status="optimal", solver_status="optimal",
            objective_eur="0.00", cost=money, savings=savings, conflicts=[], message="",
            inputs={}, notes=[], series=series, solve_time_ms=1,
        ))  # fmt: skip
