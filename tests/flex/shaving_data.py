"""A site for peak shaving tests: a main meter, a battery asset and its flexible resource, and
a battery device that follows commands as an MQTT device does (``docs/control.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tests.flex.schedule_data import BATTERY
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.control import service as control
from gridpilot.control.events import publish_command_changes
from gridpilot.control.inbound import handle_ack
from gridpilot.core import events as catalogue
from gridpilot.core.timestamps import now_ms


@dataclass
class ShavingSite:
    site_id: int
    meter: int
    battery: int  # the battery asset
    resource: int  # its flexible resource


async def shaving_site(client, headers, name="Shaved site", **battery) -> ShavingSite:
    """A UTC site with a grid_connection meter and a 100 kWh / 50 kW battery resource (SOC
    band 10-90 %) linked to a battery asset; ``battery`` overrides the resource's fields."""
    site_id = await make_site(client, headers, name, contract_demand_kw=100.0)
    meter = await make_asset(client, headers, site_id, "Main meter", "grid_connection")
    asset = await make_asset(client, headers, site_id, "Battery", "battery")
    body = {**BATTERY, "asset_id": asset, **battery}
    made = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return ShavingSite(site_id, meter, asset, made.json()["id"])


async def enable(client, headers, site: ShavingSite, **fields) -> dict:
    body = {"threshold_kw": 100.0, **fields}
    put = await client.put(f"/api/v1/sites/{site.site_id}/peak-shaving", json=body, headers=headers)
    assert put.status_code in (200, 201), put.text
    return put.json()


def stored(site: ShavingSite, ts: int, *, grid_kw=None, battery_kw=None, soc=None) -> dict:
    """A ``readings.stored`` payload as the writer publishes it (battery: + discharge here,
    turned into the storage convention, + charging, as a battery reports it)."""
    assets = []
    if grid_kw is not None:
        latest = {"power_kw": {"ts": ts, "value": grid_kw}}
        assets.append({"asset_id": site.meter, "site_id": site.site_id, "count": 1,
                       "newest_ts": ts, "latest": latest})  # fmt: skip
    battery = {}
    if battery_kw is not None:
        battery["power_kw"] = {"ts": ts, "value": -battery_kw}
    if soc is not None:
        battery["soc_pct"] = {"ts": ts, "value": soc}
    if battery:
        assets.append({"asset_id": site.battery, "site_id": site.site_id, "count": len(battery),
                       "newest_ts": ts, "latest": battery})  # fmt: skip
    return {"count": len(assets), "assets": assets}


async def publish(bus, payload: dict) -> None:
    await bus.publish(catalogue.READINGS_STORED.name, payload)


@dataclass
class BatteryDevice:
    """Follows its commands: claims a queued one (sent), acknowledges it and applies it
    (``power_kw``: + discharge), then reports succeeded, through ``control.inbound``."""

    sessions: object
    bus: object
    asset_id: int
    site_id: int
    power_kw: float = 0.0
    applied: list[tuple[str, dict]] = field(default_factory=list)

    async def serve(self) -> int:
        """Deliver every queued command, oldest first; how many."""
        async with self.sessions() as session:  # type: ignore[operator]
            queued = await control.list_commands(
                session=session, asset_id=self.asset_id, states=[control.QUEUED]
            )
        for command in reversed(queued):
            async with self.sessions() as session, session.begin():  # type: ignore[operator]
                change = await control.transition(
                    session=session, command_id=command.id, to=control.SENT, at_ms=now_ms(),
                    actor="test:device",
                )  # fmt: skip
            await publish_command_changes(self.bus, [change] if change else [])
            for state in ("acknowledged", "succeeded"):
                if state == "succeeded":
                    self.apply(command.kind, command.params)
                ack = {"command_id": command.id, "state": state, "ts": now_ms()}
                await handle_ack(
                    sessions=self.sessions, bus=self.bus, asset_id=self.asset_id,
                    site_id=self.site_id, payload=json.dumps(ack).encode(), received_ms=now_ms(),
                )  # fmt: skip
        return len(queued)

    def apply(self, kind: str, params: dict) -> None:
        self.applied.append((kind, params))
        if kind == "discharge":
            self.power_kw = float(params["power_kw"])
        elif kind == "charge":
            self.power_kw = -float(params["power_kw"])
        elif kind == "setpoint":
            self.power_kw = -float(params["power_kw"])  # 0 here: idle
