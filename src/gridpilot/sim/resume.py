"""Where a simulated asset continues after a stop: its last stored reading, registers, counters
and battery SOC, and the device commands still in force.

A model is a deterministic function of time, so a rerun regenerates the bucket that starts at
the last stored reading (its register value is the total *up to* that time) and drops that
sample: the next reading carries exactly the energy the stopped run had not stored yet, and the
series continues without a gap, an overlap or a counter reset. Counters are stored whole, so a
fraction of a unit may be lost at a restart, never gained.

Commands: the newest succeeded command of each kind per asset, applied in the order they
succeeded (a later ``start`` undoes an earlier ``stop``; ``set_power_limit`` with no value lifts
the limit), gives the overrides the simulated device held when it stopped; a ``charge`` or
``discharge`` with a ``duration_s`` is over once that time has passed since it succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control import service as control_service
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import now_ms
from gridpilot.sim.generate import Accumulator
from gridpilot.sim.model import Overrides, apply_command
from gridpilot.sim.provision import SimAsset
from gridpilot.telemetry import service as telemetry_service

log = logging.getLogger(__name__)

#: Model state carried across a restart (``SimContext.state`` keys stored as metrics).
STATE_METRICS = ("soc_pct",)


@dataclass
class Resume:
    """How an asset continues: after ``anchor_ms`` (None: nothing stored yet), with these
    registers/counters, model state and command overrides."""

    anchor_ms: int | None = None
    accumulator: Accumulator = field(default_factory=Accumulator)
    state: dict[str, float] = field(default_factory=dict)
    overrides: Overrides = field(default_factory=Overrides)

    def start_ms(self, default_ms: int, step_ms: int) -> int:
        """The first timestamp to generate: the anchor itself (its sample is dropped, see
        ``keep_after_ms``), else ``default_ms`` aligned down to ``step_ms``."""
        if self.anchor_ms is None:
            return default_ms // step_ms * step_ms
        return self.anchor_ms

    @property
    def keep_after_ms(self) -> int | None:
        """Generated samples at or before this time are stored already."""
        return self.anchor_ms


async def stored_resume(sessions: async_sessionmaker[AsyncSession], asset: SimAsset) -> Resume:
    """The asset's resume point from its newest stored readings (registers, counters, SOC)."""
    async with sessions() as session:
        latest = await telemetry_service.latest_values(session=session, asset_id=asset.asset_id)
    model = asset.spec.model
    keys = [register for register, _, _ in model.registers] + list(model.counters)
    anchor = next((latest[k] for k in [*keys, "power_kw"] if k in latest), None)
    if anchor is None:
        return Resume()
    resume = Resume(anchor_ms=anchor.ts_ms)
    for key in keys:
        if key in latest:
            resume.accumulator.values[key] = float(latest[key].value)
    for key in STATE_METRICS:
        if key in latest:
            resume.state[key] = float(latest[key].value)
    return resume


async def overrides_in_force(
    session: AsyncSession, assets: Sequence[SimAsset]
) -> dict[int, Overrides]:
    """The overrides that the succeeded commands of ``assets`` left in force, per asset id."""
    commands = await control_service.last_succeeded(
        session=session, asset_ids=[a.asset_id for a in assets]
    )
    result: dict[int, Overrides] = {}
    now = now_ms()
    for command in commands:
        duration_s = (command.params or {}).get("duration_s")
        done_ms = command.completed_ms
        if isinstance(duration_s, int | float) and done_ms and done_ms + duration_s * 1000 <= now:
            continue  # a timed charge/discharge that is over
        overrides = result.setdefault(command.asset_id, Overrides())
        try:
            apply_command(overrides, command.kind, dict(command.params or {}), done_ms)
        except ValidationFailed:  # another device's kind, or parameters it did not follow
            log.debug("command %d not re-applied on resume", command.id)
    return result


async def resume_all(
    sessions: async_sessionmaker[AsyncSession], assets: Sequence[SimAsset]
) -> dict[int, Resume]:
    """``stored_resume`` of every asset, with the command overrides in force."""
    result = {a.asset_id: await stored_resume(sessions, a) for a in assets}
    async with sessions() as session:
        overrides = await overrides_in_force(session, assets)
    for asset_id, held in overrides.items():
        result[asset_id].overrides = held
    return result
