"""The simulator inside the API process: start, stop, reconfigure, inject anomalies.

``SimulatorRuntime`` is built by the app's lifespan (idle unless ``GRIDPILOT_SIM_AUTOSTART``
names scenarios), writes through the app's telemetry runtime (in-process ingest) and, while
running, follows the device commands sent to its assets (``sim.commands``) and takes part in
firmware roll-outs (``sim.firmware``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control.stopped import sources_stopped
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import Conflict
from gridpilot.core.runtime import Slot
from gridpilot.core.tasks import STOP_GRACE_S, cancel_and_wait, finish_then_cancel
from gridpilot.sim.commands import LocalCommandLink
from gridpilot.sim.firmware import FirmwareParticipant
from gridpilot.sim.provision import provision
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.sim.schemas import (
    ALL_SCENARIOS,
    AnomalyInject,
    AnomalyOut,
    SimAssetStatus,
    SimulatorConfig,
    SimulatorStart,
    SimulatorStatus,
)
from gridpilot.sim.sinks import IngestSink
from gridpilot.telemetry.tasks import TelemetryRuntime

log = logging.getLogger(__name__)


class SimulatorRuntime:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        telemetry: TelemetryRuntime,
        command_check_interval_s: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.telemetry = telemetry
        self.command_check_interval_s = command_check_interval_s
        self.simulator: LiveSimulator | None = None
        self.commands: LocalCommandLink | None = None
        self.firmware: FirmwareParticipant | None = None
        self.sink: IngestSink | None = None
        self.scenarios: list[str] = []
        self.seed = 42
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def served_asset_ids(self) -> Collection[int]:
        """The assets whose commands this simulator follows (none unless running)."""
        return list(self.simulator.live) if self.simulator and self.running else ()

    async def start(self, request: SimulatorStart) -> SimulatorStatus:
        """Provision the scenarios (idempotent) and run them live; Conflict when running."""
        async with self._lock:
            if self.running:
                raise Conflict("the simulator is already running; stop it first")
            assets = await provision(
                sessions=self.sessions, bus=self.bus, scenarios=list(request.scenarios)
            )
            self.sink = IngestSink(self.telemetry)
            self.simulator = LiveSimulator(
                assets, sink=self.sink, seed=request.seed, speed=request.speed
            )
            await self.simulator.prime(self.telemetry)
            self.scenarios, self.seed = list(request.scenarios), request.seed
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self.simulator.run(self._stop), name="gridpilot-sim")
            self.commands = LocalCommandLink(
                self.sessions, self.bus, self.simulator, self.command_check_interval_s
            )
            self.commands.start()
            self.firmware = FirmwareParticipant(
                self.sessions, self.served_asset_ids, request.seed, bus=self.bus
            )
            self.firmware.start()
            return self.status()

    async def stop(self) -> None:
        """Stop following commands and firmware, let the tick in progress end at its next asset
        (at most ``STOP_GRACE_S``, then it is cancelled) and record the assets' stop."""
        if self.firmware is not None:
            await self.firmware.stop()
            self.firmware = None
        if self.commands is not None:
            await self.commands.stop()
            self.commands = None
        self._stop.set()
        fed = self.running
        task, self._task = self._task, None
        if task is not None:
            await asyncio.wait({task}, timeout=STOP_GRACE_S)
            await cancel_and_wait(task)
        if fed and self.simulator is not None:
            await finish_then_cancel(self._announce_stopped(self.simulator))

    async def _announce_stopped(self, simulator: LiveSimulator) -> None:
        """Its assets' data stops on purpose: offline ``stopped``, no outage
        (``control.stopped``), so no "offline" alert for a simulator stopped."""
        sources = {live.asset.asset_id: live.asset.site_id for live in simulator.live.values()}
        try:
            await sources_stopped(self.sessions, self.bus, sources)
        except Exception:  # stopping goes on: their silence then reads as an outage
            log.exception("the simulated assets' stop was not recorded")

    def configure(self, config: SimulatorConfig) -> SimulatorStatus:
        simulator = self._require()
        if config.speed is not None:
            simulator.set_speed(config.speed)
        if config.step_s is not None:
            simulator.step_ms = int(config.step_s * 1000)
        return self.status()

    def inject(self, request: AnomalyInject) -> AnomalyOut:
        anomaly = self._require().inject(
            request.asset_id,
            request.kind,
            duration_ms=int(request.duration_s * 1000),
            severity=request.severity,
            hold_ms=int(request.hold_s * 1000),
        )
        return AnomalyOut(
            asset_id=request.asset_id,
            kind=anomaly.kind,
            start_ms=anomaly.start_ms,
            duration_ms=anomaly.duration_ms,
            hold_ms=anomaly.hold_ms,
            severity=anomaly.severity,
        )

    def _require(self) -> LiveSimulator:
        if self.simulator is None or not self.running:
            raise Conflict("the simulator is not running; POST /api/v1/simulator/start first")
        return self.simulator

    def status(self) -> SimulatorStatus:
        sim = self.simulator
        assets = []
        for live in sim.live.values() if sim else []:
            spec, ov = live.asset.spec, live.ctx.overrides
            assets.append(
                SimAssetStatus(
                    asset_id=live.asset.asset_id,
                    site_id=live.asset.site_id,
                    name=spec.name,
                    kind=spec.model.kind,
                    scenario=live.asset.scenario,
                    device_id=spec.device_id,
                    step_s=live.step_ms / 1000,
                    next_ms=live.next_ms,
                    samples_sent=live.sent,
                    running=ov.running,
                    power_limit_kw=ov.power_limit_kw,
                    setpoint=ov.setpoint,
                    anomaly_kinds=list(spec.model.anomaly_kinds),
                    injected=[
                        AnomalyOut(
                            asset_id=live.asset.asset_id,
                            kind=a.kind,
                            start_ms=a.start_ms,
                            duration_ms=a.duration_ms,
                            hold_ms=a.hold_ms,
                            severity=a.severity,
                        )
                        for a in live.ctx.injected
                    ],
                )
            )
        return SimulatorStatus(
            running=self.running,
            scenarios=self.scenarios,
            speed=sim.speed if sim else 1.0,
            seed=self.seed,
            step_s=sim.step_ms / 1000 if sim and sim.step_ms else None,
            sim_time_ms=sim.sim_now_ms() if sim and self.running else None,
            stored=self.sink.stored if self.sink else 0,
            rejected=self.sink.rejected if self.sink else 0,
            last_rejection=self.sink.last_rejection if self.sink else None,
            errors=sim.errors if sim else 0,
            assets=assets,
        )


SIMULATOR: Slot[SimulatorRuntime] = Slot("simulator")


async def start_simulator(
    *,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBus,
    telemetry: TelemetryRuntime,
    autostart: str | None,
    seed: int,
    command_check_interval_s: float = 1.0,
) -> SimulatorRuntime:
    """The app's simulator runtime; runs the scenarios named in ``autostart`` (or ``all``)."""
    runtime = SimulatorRuntime(sessions, bus, telemetry, command_check_interval_s)
    if autostart:
        names = [n.strip() for n in autostart.split(",") if n.strip()]
        scenarios = list(ALL_SCENARIOS) if "all" in names else names
        await runtime.start(SimulatorStart(scenarios=scenarios, seed=seed))
    return runtime
