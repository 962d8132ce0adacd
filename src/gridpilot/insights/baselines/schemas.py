"""Request and response bodies of ``/api/v1/baselines``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from gridpilot.assets.catalogue import METRIC_KEY_PATTERN
from gridpilot.core.bodies import Strict
from gridpilot.core.timestamps import MAX_MS, to_ms

Granularity = Literal["hour", "day", "week", "month"]
DriverKind = Literal["metric", "temperature", "hdd", "cdd", "operating_hours", "moisture"]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
ColumnName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
MetricKey = Annotated[str, Field(pattern=METRIC_KEY_PATTERN)]

#: Metric read by a driver of each kind when none is named.
DEFAULT_METRIC = {
    "temperature": "temperature_c",
    "hdd": "temperature_c",
    "cdd": "temperature_c",
    "operating_hours": "power_kw",
    "moisture": "material_moisture_pct",
}
#: Balance points [degC] when none is given (EU heating base; common cooling base).
DEFAULT_BALANCE_POINT = {"hdd": 15.5, "cdd": 18.0}


class DriverSpec(Strict):
    """One explanatory variable of the baseline.

    - ``metric``: the per-period value of any metric (``agg``: avg, sum, min, max, delta; by
      default delta for counters/registers such as ``production_count``, avg otherwise);
    - ``temperature``: mean temperature [degC]; ``hdd``/``cdd``: degree-days [K*day] of the
      temperature against ``balance_point_c``;
    - ``operating_hours``: hours per period in which ``metric`` (default ``power_kw``) exceeded
      ``threshold`` (default 0);
    - ``moisture``: mean material moisture content [%] (``material_moisture_pct``, the
      industrial seed's driver: wetter material costs drying and heating energy).

    ``asset_id`` is where the metric is read (default: the baseline's asset; for a site
    baseline, ``metric`` drivers default to the sum over the site's assets and the others need
    an asset, e.g. the weather station).
    """

    kind: DriverKind = "metric"
    metric: MetricKey | None = None
    name: ColumnName | None = None
    asset_id: Id | None = None
    agg: Literal["avg", "sum", "min", "max", "delta"] | None = None
    balance_point_c: float | None = Field(default=None, ge=-50, le=50)
    threshold: float | None = Field(default=None, ge=-1e12, le=1e12)

    @model_validator(mode="after")
    def _complete(self) -> DriverSpec:
        if self.kind == "metric" and self.metric is None:
            raise ValueError("a metric driver needs 'metric'")
        if self.kind not in ("hdd", "cdd") and self.balance_point_c is not None:
            raise ValueError("balance_point_c applies to hdd and cdd drivers only")
        if self.kind != "operating_hours" and self.threshold is not None:
            raise ValueError("threshold applies to operating_hours drivers only")
        if self.kind != "metric" and self.agg is not None:
            raise ValueError("agg applies to metric drivers only")
        return self

    def resolved(self) -> dict[str, Any]:
        """The spec with every default filled in (what is stored)."""
        metric = self.metric or DEFAULT_METRIC[self.kind]
        data = self.model_dump()
        data["metric"] = metric
        if self.kind in DEFAULT_BALANCE_POINT and self.balance_point_c is None:
            data["balance_point_c"] = DEFAULT_BALANCE_POINT[self.kind]
        if self.kind == "operating_hours" and self.threshold is None:
            data["threshold"] = 0.0
        if self.name is None:
            data["name"] = metric if self.kind == "metric" else self.kind
        return data


class BaselineCreate(Strict):
    """A baseline of an asset (``asset_id``) or a whole site (``site_id``) fitted over a period."""

    name: str = Field(min_length=1, max_length=200)
    site_id: Id | None = None
    asset_id: Id | None = None
    granularity: Granularity = "day"
    energy_metric: Literal["energy_kwh", "power_kw"] = "energy_kwh"
    drivers: list[DriverSpec] = Field(default_factory=list, max_length=10)
    start: datetime | int = Field(description="Baseline period start (ISO-8601 or epoch ms)")
    end: datetime | int = Field(description="Baseline period end, exclusive")
    select_drivers: bool = Field(
        default=False, description="Drop insignificant drivers by backward elimination (p>=0.05)"
    )
    auto_refit: bool = Field(default=True, description="Refit weekly on the latest period")

    @model_validator(mode="after")
    def _target(self) -> BaselineCreate:
        if (self.site_id is None) == (self.asset_id is None):
            raise ValueError("give exactly one of site_id or asset_id")
        names = [d.resolved()["name"] for d in self.drivers]
        if len(set(names)) != len(names):
            raise ValueError("driver names must be distinct (set 'name')")
        start_ms, end_ms = to_ms(self.start), to_ms(self.end)
        if not (0 <= start_ms <= MAX_MS and 0 <= end_ms <= MAX_MS):
            raise ValueError("start and end must lie between 1970 and 9999")
        if end_ms <= start_ms:
            raise ValueError("end must be after start")
        return self


class RefitRequest(Strict):
    """Refit on ``[start, end)``; by default the latest period as long as the previous one."""

    start: datetime | int | None = None
    end: datetime | int | None = None


class CoefficientOut(BaseModel):
    name: str
    estimate: float
    std_error: float
    t_value: float
    p_value: float


class VerdictOut(BaseModel):
    check: str
    passed: bool | None
    value: float | None
    threshold: str
    detail: str


class VersionOut(BaseModel):
    version: int
    start: str
    end: str
    fitted_at: datetime
    fitted_by: str
    valid: bool
    n: int
    p: int
    r2: float
    adj_r2: float
    cv_rmse_pct: float
    nmbe_pct: float
    rmse: float
    mean_energy: float
    dropped: int
    drivers: list[str]
    coefficients: list[CoefficientOut]
    verdicts: list[VerdictOut]


class BaselineOut(BaseModel):
    id: int
    name: str
    site_id: int
    asset_id: int | None
    granularity: str
    energy_metric: str
    drivers: list[dict[str, Any]]
    auto_refit: bool
    latest_version: int
    created_by: str
    created_at: datetime
    current: VersionOut | None = None
    versions: list[VersionOut] | None = None


class ReportRowOut(BaseModel):
    ts: str
    actual: float
    predicted: float
    deviation: float
    cusum: float


class SavingsUncertaintyOut(BaseModel):
    confidence: float
    uncertainty_kwh: float = Field(description="half-width of the interval around the savings")
    fraction: float | None = Field(description="fractional savings uncertainty (of savings_kwh)")
    savings_low_kwh: float
    savings_high_kwh: float
    t_value: float
    effective_n: float = Field(description="baseline points corrected for autocorrelation")
    rho: float = Field(description="lag-1 autocorrelation of the baseline residuals")
    meets_g14: bool | None = Field(description="at 68 %: fraction < 50 % (ASHRAE G14)")


class ReportOut(BaseModel):
    baseline_id: int
    version: int
    start: str
    end: str
    unit: str = "kWh"
    n: int
    skipped: int
    actual_kwh: float
    predicted_kwh: float
    deviation_kwh: float
    savings_kwh: float
    savings_pct: float | None
    enpi: float | None
    sec_kwh_per_unit: float | None
    cv_rmse_pct: float | None
    nmbe_pct: float | None
    savings_uncertainty: list[SavingsUncertaintyOut] = Field(
        default_factory=list,
        description="ASHRAE Guideline 14 (Annex B) uncertainty of savings_kwh at 68 % and 90 % "
        "confidence; empty when undefined",
    )
    rows: list[ReportRowOut]
