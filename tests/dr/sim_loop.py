"""The DR loop closed over simulated devices, in the loop's own (past) time.

A ``SimSite`` is a site whose assets are the simulator's device models (``sim.buildings``,
``sim.factory``): ``advance(t)`` generates every asset's readings up to ``t`` under the
commands in force and stores them (``power_kw`` and the ``energy_kwh`` register every
``STEP_MS``, so the site balance's consumption per 15 min is exact); ``deliver(t)`` hands the
commands dispatch queued to the devices (``sim.model.apply_command`` at ``t``) and
acknowledges them through the control service, as ``sim/commands.py`` does in the demo.
``truth(start, end)`` runs the same devices from the same state without any command: the
counterfactual, what the site would have drawn had there been no event.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tests.dr.dispatch_data import ack
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.control import service as control
from gridpilot.core.errors import ValidationFailed
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.model import DeviceModel, SimContext, apply_command
from gridpilot.sim.weather import WeatherModel
from gridpilot.telemetry.rollups import refresh_pending

STEP_MS = 5 * 60_000
QUARTER_MS = 15 * 60_000
SEED = 42


@dataclass
class SimAsset:
    asset_id: int
    model: DeviceModel
    ctx: SimContext
    accumulator: Accumulator = field(default_factory=Accumulator)


class SimSite:
    """Simulated devices of one site, driven chunk by chunk."""

    def __init__(self, app, lat: float, lon: float, timezone: str) -> None:
        self.app = app
        self.weather = WeatherModel(SEED, lat, lon)
        self.timezone = timezone
        self.assets: dict[str, SimAsset] = {}
        self.now_ms: int | None = None
        self.commands: list[tuple[int, str, str, dict]] = []  # (at, asset, kind, params)

    def add(self, name: str, asset_id: int, model: DeviceModel) -> None:
        ctx = SimContext(SEED, self.timezone, self.weather, f"dr-sim/{name}",
                         random_anomalies=False)  # fmt: skip
        self.assets[name] = SimAsset(asset_id, model, ctx)

    async def advance(self, until_ms: int, step_ms: int = STEP_MS) -> None:
        """Generate and store every asset's readings from where it stands to ``until_ms``."""
        assert self.now_ms is not None
        sessions = self.app.state.sessions
        power = await metric_id(sessions, "power_kw")
        energy = await metric_id(sessions, "energy_kwh")
        outdoor = await metric_id(sessions, "outdoor_temperature_c")
        rows = []
        for sim in self.assets.values():
            ts, values = generate(sim.model, sim.ctx, self.now_ms, until_ms, step_ms=step_ms,
                                  accumulator=sim.accumulator)  # fmt: skip
            rows += [(sim.asset_id, power, int(t), float(v))
                     for t, v in zip(ts, values["power_kw"], strict=True)]  # fmt: skip
            rows += [(sim.asset_id, energy, int(t), float(v))
                     for t, v in zip(ts, values["energy_kwh"], strict=True)]  # fmt: skip
            # the HVAC's outdoor sensor (the weather-regression baseline reads it)
            outside = values.get("outdoor_temperature_c")
            if outside is not None:
                rows += [(sim.asset_id, outdoor, int(t), float(v))
                         for t, v in zip(ts, outside, strict=True)]  # fmt: skip
            # the register at the chunk's end, so the interval just ended is metered now
            rows.append((sim.asset_id, energy, until_ms, sim.accumulator.values["energy_kwh"]))
        await insert_readings(sessions, rows)
        await refresh_pending(sessions=sessions, settings=self.app.state.settings)
        self.now_ms = until_ms

    async def deliver(self, at_ms: int) -> int:
        """Hand the queued commands of the site's devices to them; how many."""
        by_id = {sim.asset_id: (name, sim) for name, sim in self.assets.items()}
        delivered = 0
        for asset_id, (name, sim) in by_id.items():
            async with self.app.state.sessions() as session:
                queued = await control.list_commands(
                    session=session, asset_id=asset_id, states=[control.QUEUED], limit=50
                )
            for command in sorted(queued, key=lambda c: c.id):
                try:
                    detail = apply_command(sim.ctx.overrides, command.kind, dict(command.params),
                                           at_ms)  # fmt: skip
                    state = "succeeded"
                except ValidationFailed as exc:
                    detail, state = exc.message, "failed"
                await ack(self.app, asset_id, command.id, "acknowledged", state, detail=detail)
                self.commands.append((at_ms, name, command.kind, dict(command.params)))
                delivered += 1
        return delivered

    def truth(self, start_ms: int, end_ms: int) -> pd.Series:
        """The site's consumption [kW] per 15 min of ``[start_ms, end_ms)`` from its devices'
        state now, without any command (the counterfactual); UTC index."""
        total = np.zeros((end_ms - start_ms) // QUARTER_MS)
        for sim in self.assets.values():
            ctx = copy.deepcopy(sim.ctx)
            ctx.overrides = type(ctx.overrides)()
            accumulator = Accumulator(dict(sim.accumulator.values))
            _, values = generate(sim.model, ctx, start_ms, end_ms, step_ms=QUARTER_MS,
                                 accumulator=accumulator)  # fmt: skip
            registers = np.append(values["energy_kwh"], accumulator.values["energy_kwh"])
            total += np.diff(registers) * 4.0  # kWh per quarter -> mean kW
        index = pd.to_datetime(np.arange(start_ms, end_ms, QUARTER_MS), unit="ms", utc=True)
        return pd.Series(total, index=index)
