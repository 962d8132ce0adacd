"""``/api/v1/simulator``: control the in-process simulator (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gridpilot.auth.dependencies import Administrator
from gridpilot.core.errors import Unavailable
from gridpilot.core.runtime import runtime_of
from gridpilot.sim.runtime import SIMULATOR, SimulatorRuntime
from gridpilot.sim.schemas import (
    AnomalyInject,
    AnomalyOut,
    SimulatorConfig,
    SimulatorStart,
    SimulatorStatus,
)

router = APIRouter(prefix="/simulator", tags=["simulator"])


async def get_simulator(request: Request) -> SimulatorRuntime:
    simulator = runtime_of(request.app).get(SIMULATOR)
    if simulator is None:
        raise Unavailable("the simulator is not available in this process")
    return simulator


SimulatorDep = Annotated[SimulatorRuntime, Depends(get_simulator)]


@router.post(
    "/start",
    response_model=SimulatorStatus,
    summary="Start the simulator",
    description="Create (or reuse) the sites and assets of the chosen scenarios and "
    "simulate them live in this process, writing through the telemetry ingest service. "
    "409 when already running.",
)
async def start(body: SimulatorStart, simulator: SimulatorDep, _: Administrator) -> SimulatorStatus:
    return await simulator.start(body)


@router.post(
    "/stop",
    response_model=SimulatorStatus,
    summary="Stop the simulator",
    description="Stop the live simulation (idempotent).",
)
async def stop(simulator: SimulatorDep, _: Administrator) -> SimulatorStatus:
    await simulator.stop()
    return simulator.status()


@router.get(
    "/status",
    response_model=SimulatorStatus,
    summary="Simulator status",
    description="Running or not, scenarios, speed, simulated time, readings stored and "
    "rejected, and each simulated asset with its command state and injected anomalies.",
)
async def status(simulator: SimulatorDep, _: Administrator) -> SimulatorStatus:
    return simulator.status()


@router.put(
    "/config",
    response_model=SimulatorStatus,
    summary="Reconfigure the simulator",
    description="Change the speed (simulated seconds per second; never ahead of real "
    "time) or the live output step. 409 when not running.",
)
async def configure(
    body: SimulatorConfig, simulator: SimulatorDep, _: Administrator
) -> SimulatorStatus:
    return simulator.configure(body)


@router.post(
    "/inject-anomaly",
    response_model=AnomalyOut,
    summary="Inject an anomaly",
    description="Start a fault on a simulated asset at the simulated now, e.g. `leak` on "
    "a compressor (gradual pressure loss), `fouling` (HVAC COP), `overload` (conveyor), "
    "`pressure_drop` (hydraulic pump), `heater_fault` (injection molding), `soiling` (PV), "
    "`underperformance` (wind). 404 unknown asset, 422 kind not supported by the asset, "
    "409 simulator not running.",
)
async def inject_anomaly(
    body: AnomalyInject, simulator: SimulatorDep, _: Administrator
) -> AnomalyOut:
    return simulator.inject(body)
