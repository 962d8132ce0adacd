"""Bodies of the simulator control API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ScenarioName = Literal["factory", "building", "portfolio", "community"]
ALL_SCENARIOS: list[ScenarioName] = ["factory", "building", "portfolio", "community"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SimulatorStart(Strict):
    scenarios: list[ScenarioName] = Field(default_factory=lambda: list(ALL_SCENARIOS), min_length=1)
    speed: float = Field(default=1.0, ge=0.1, le=10_000, description="Simulated s per wall s")
    seed: int = Field(default=42, ge=0, le=2**31 - 1)


class SimulatorConfig(Strict):
    speed: float | None = Field(default=None, ge=0.1, le=10_000)
    step_s: float | None = Field(default=None, ge=1, le=3600, description="Live output step (s)")


class AnomalyInject(Strict):
    asset_id: int = Field(ge=1, le=2**31 - 1)
    kind: str = Field(min_length=1, max_length=40, description="e.g. leak (compressor)")
    duration_s: float = Field(default=3600, gt=0, le=30 * 86400, description="Ramp-up time (s)")
    hold_s: float = Field(default=3600, ge=0, le=30 * 86400, description="Time at full severity")
    severity: float = Field(default=1.0, gt=0, le=5)


class AnomalyOut(BaseModel):
    asset_id: int
    kind: str
    start_ms: int
    duration_ms: int
    hold_ms: int
    severity: float


class SimAssetStatus(BaseModel):
    asset_id: int
    site_id: int
    name: str
    kind: str
    scenario: str
    device_id: str
    step_s: float
    next_ms: int
    samples_sent: int
    running: bool
    power_limit_kw: float | None
    setpoint: float | None
    anomaly_kinds: list[str]
    injected: list[AnomalyOut]


class SimulatorStatus(BaseModel):
    running: bool
    scenarios: list[str]
    speed: float
    seed: int
    step_s: float | None
    sim_time_ms: int | None
    stored: int
    rejected: int
    last_rejection: str | None
    errors: int
    assets: list[SimAssetStatus]
