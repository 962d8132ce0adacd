"""ISO 50001 energy baseline (EnB): ordinary least squares of energy on its relevant variables.

``fit_baseline`` regresses energy per period [kWh] on user-chosen drivers (production, HDD/CDD,
operating hours, any metric) with statsmodels OLS and returns the coefficients with standard
errors and p-values, R2, adjusted R2, CV(RMSE), NMBE and n, plus validation verdicts:

- the seed's thresholds (enms-industrial-iso50001): R2 > 0.80, every driver's p-value < 0.05,
  at least 1000 observations where the granularity allows (a period with fewer buckets than
  that cannot have them, e.g. 90 days at daily granularity: the check is then not applicable);
- ASHRAE Guideline 14-2014 (Measurement of Energy, Demand, and Water Savings) calibration
  criteria: CV(RMSE) <= 15 % and |NMBE| <= 5 % for monthly models, CV(RMSE) <= 30 % and
  |NMBE| <= 10 % for hourly ones (hour, day and week granularity use the hourly limits here).

Statistics use ASHRAE Guideline 14's degrees-of-freedom form, ``p`` = number of model parameters
(drivers + intercept), ``y`` actual and ``yhat`` modelled energy, ``ybar`` the mean of ``y``:

    CV(RMSE) = 100 * sqrt(sum((y - yhat)^2) / (n - p)) / ybar           [%]
    NMBE     = 100 * sum(y - yhat) / ((n - p) * ybar)                   [%]

(OLS with an intercept has sum(y - yhat) = 0 on its own training data, so NMBE is ~0 there; it
matters on other periods.) References: ISO 50006:2014 (baselines and EnPIs), ISO 50015:2014.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

GRANULARITIES = ("hour", "day", "week", "month")
MIN_R2 = 0.80
MAX_P_VALUE = 0.05
MIN_OBSERVATIONS = 1000
#: ASHRAE Guideline 14 limits [%]: (CV(RMSE) max, |NMBE| max) for monthly and hourly models.
ASHRAE_MONTHLY = (15.0, 5.0)
ASHRAE_HOURLY = (30.0, 10.0)
INTERCEPT = "intercept"


@dataclass(frozen=True)
class Coefficient:
    """One model term: estimate [kWh per driver unit], standard error, t statistic, p-value."""

    name: str
    estimate: float
    std_error: float
    t_value: float
    p_value: float


@dataclass(frozen=True)
class Verdict:
    """One validation check: ``passed`` None when the check does not apply."""

    check: str
    passed: bool | None
    value: float | None
    threshold: str
    detail: str = ""


@dataclass(frozen=True)
class BaselineFit:
    """A fitted baseline: enough to predict, plus its statistics and verdicts."""

    energy: str
    drivers: list[str]
    granularity: str
    coefficients: list[Coefficient]
    n: int
    p: int
    r2: float
    adj_r2: float
    cv_rmse_pct: float
    nmbe_pct: float
    rmse: float  # sqrt(SSE / (n - p)), the residual standard error [kWh per period]
    mean_energy: float  # ybar [kWh per period]
    dropped: int  # rows dropped for a missing value
    verdicts: list[Verdict] = field(default_factory=list)
    #: Lag-1 autocorrelation of the residuals in time order (ASHRAE G14 Annex B's rho; 0 for
    #: versions fitted before it was kept).
    residual_rho: float = 0.0

    @property
    def valid(self) -> bool:
        """True when no applicable check failed."""
        return all(v.passed is not False for v in self.verdicts)

    def coefficient(self, name: str) -> Coefficient:
        for c in self.coefficients:
            if c.name == name:
                return c
        raise KeyError(name)

    def predict(self, drivers: pd.DataFrame) -> pd.Series:
        """Modelled energy per row of ``drivers`` (NaN where a driver is missing)."""
        missing = [d for d in self.drivers if d not in drivers.columns]
        if missing:
            raise ValidationFailed(f"driver data missing: {', '.join(missing)}")
        values = pd.Series(self.coefficient(INTERCEPT).estimate, index=drivers.index)
        for name in self.drivers:
            values = values + self.coefficient(name).estimate * drivers[name].astype("float64")
        return values.rename("predicted")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["valid"] = self.valid
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineFit:
        fields = {k: v for k, v in data.items() if k != "valid"}
        fields["coefficients"] = [Coefficient(**c) for c in data["coefficients"]]
        fields["verdicts"] = [Verdict(**v) for v in data.get("verdicts", [])]
        return cls(**fields)


def ashrae_limits(granularity: str) -> tuple[float, float]:
    """(CV(RMSE) max, |NMBE| max) [%] of ASHRAE Guideline 14 for ``granularity``."""
    _check_granularity(granularity)
    return ASHRAE_MONTHLY if granularity == "month" else ASHRAE_HOURLY


def cv_rmse_pct(actual: np.ndarray, predicted: np.ndarray, n_params: int) -> float:
    """CV(RMSE) [%] = 100 * sqrt(SSE / (n - p)) / mean(actual) (ASHRAE Guideline 14)."""
    n, mean = _dof_check(actual, n_params)
    sse = float(np.sum((actual - predicted) ** 2))
    return 100.0 * float(np.sqrt(sse / (n - n_params))) / mean


def nmbe_pct(actual: np.ndarray, predicted: np.ndarray, n_params: int) -> float:
    """NMBE [%] = 100 * sum(actual - predicted) / ((n - p) * mean(actual)) (ASHRAE G14)."""
    n, mean = _dof_check(actual, n_params)
    return 100.0 * float(np.sum(actual - predicted)) / ((n - n_params) * mean)


def _dof_check(actual: np.ndarray, n_params: int) -> tuple[int, float]:
    n = len(actual)
    if n <= n_params:
        raise ValidationFailed(f"{n} observations cannot support {n_params} parameters")
    mean = float(np.mean(actual))
    if mean == 0.0:
        raise ValidationFailed("mean energy is zero: CV(RMSE) and NMBE are undefined")
    return n, mean


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ValidationFailed(f"granularity must be one of {', '.join(GRANULARITIES)}")


def model_rows(
    frame: pd.DataFrame, energy: str, drivers: Sequence[str]
) -> tuple[pd.DataFrame, int]:
    """The complete rows of ``[energy, *drivers]`` and how many rows had a missing value."""
    columns = [energy, *drivers]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(f"columns missing from the data: {', '.join(missing)}")
    if len(set(drivers)) != len(drivers) or energy in drivers:
        raise ValidationFailed("drivers must be distinct and differ from the energy column")
    data = frame[columns].astype("float64").replace([np.inf, -np.inf], np.nan)
    complete = data.dropna()
    return complete, len(data) - len(complete)


def fit_baseline(
    frame: pd.DataFrame,
    *,
    energy: str,
    drivers: Sequence[str],
    granularity: str,
    possible_observations: int | None = None,
) -> BaselineFit:
    """OLS baseline of ``frame[energy]`` [kWh/period] on ``frame[drivers]`` with verdicts.

    Rows with a missing value are dropped (counted in ``dropped``). ``possible_observations``
    is the number of buckets of the period (default: ``len(frame)``): the 1000-observation rule
    only applies when it is at least 1000. Raises ``ValidationFailed`` when the data cannot
    identify the model (too few rows, a constant or collinear driver, zero mean energy).
    """
    from statsmodels.regression.linear_model import OLS

    _check_granularity(granularity)
    drivers = list(drivers)
    rows, dropped = model_rows(frame, energy, drivers)
    n, p = len(rows), len(drivers) + 1
    if n < p + 2:
        raise ValidationFailed(
            f"only {n} complete observations for {p} parameters; widen the period or "
            "check that every driver has data"
        )
    design = np.column_stack([np.ones(n), rows[drivers].to_numpy()]) if drivers else np.ones((n, 1))
    if np.linalg.matrix_rank(design) < p:
        raise ValidationFailed("a driver is constant or collinear with others over the period")
    y = rows[energy].to_numpy()
    result = OLS(y, design).fit()
    predicted = np.asarray(result.fittedvalues)
    coefficients = _coefficients(result, [INTERCEPT, *drivers])
    cv = cv_rmse_pct(y, predicted, p)
    nmbe = nmbe_pct(y, predicted, p)
    r2 = _finite(result.rsquared) if drivers else 0.0  # NaN when the energy is constant
    adj_r2 = _finite(result.rsquared_adj) if drivers else 0.0
    fit = BaselineFit(
        energy=energy,
        drivers=drivers,
        granularity=granularity,
        coefficients=coefficients,
        n=n,
        p=p,
        r2=r2,
        adj_r2=adj_r2,
        cv_rmse_pct=cv,
        nmbe_pct=nmbe,
        rmse=float(np.sqrt(np.sum((y - predicted) ** 2) / (n - p))),
        mean_energy=float(np.mean(y)),
        dropped=dropped,
        residual_rho=lag1_autocorrelation(y - predicted),
    )
    possible = len(frame) if possible_observations is None else possible_observations
    return replace(fit, verdicts=verdicts(fit, possible))


def _coefficients(result: Any, names: list[str]) -> list[Coefficient]:
    """The fitted OLS ``result``'s estimate, standard error, t and p value per parameter, in
    ``names`` order (the intercept first)."""
    return [
        Coefficient(
            name=name,
            estimate=float(result.params[i]),
            std_error=float(result.bse[i]),
            t_value=_finite(result.tvalues[i]),
            p_value=_finite(result.pvalues[i]),
        )
        for i, name in enumerate(names)
    ]


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """rho = sum(e_t e_t-1) / sum(e_t^2) of residuals in time order (ASHRAE G14 Annex B)."""
    if len(residuals) < 3:
        return 0.0
    denominator = float(np.sum(residuals**2))
    if denominator <= 0:
        return 0.0
    return float(np.sum(residuals[1:] * residuals[:-1]) / denominator)


def _finite(value: float) -> float:
    """JSON-safe statistics: a perfect fit gives NaN (-> 0) or infinite (-> +-1e300) values."""
    value = float(value)
    if np.isnan(value):
        return 0.0
    return float(np.clip(value, -1e300, 1e300))


def verdicts(fit: BaselineFit, possible_observations: int) -> list[Verdict]:
    """The seed's and ASHRAE Guideline 14's checks of ``fit``."""
    cv_max, nmbe_max = ashrae_limits(fit.granularity)
    checks = [
        Verdict("r2", fit.r2 > MIN_R2, fit.r2, f"> {MIN_R2}", "seed: coefficient of determination")
    ]
    for c in fit.coefficients:
        if c.name != INTERCEPT:
            checks.append(
                Verdict(
                    f"p_value:{c.name}",
                    c.p_value < MAX_P_VALUE,
                    c.p_value,
                    f"< {MAX_P_VALUE}",
                    "seed: the driver is significant",
                )
            )
    if possible_observations >= MIN_OBSERVATIONS:
        checks.append(
            Verdict("observations", fit.n >= MIN_OBSERVATIONS, fit.n, f">= {MIN_OBSERVATIONS}")
        )
    else:
        checks.append(
            Verdict(
                "observations",
                None,
                fit.n,
                f">= {MIN_OBSERVATIONS}",
                f"not applicable: the period has only {possible_observations} "
                f"{fit.granularity} buckets",
            )
        )
    checks.append(
        Verdict(
            "cv_rmse", fit.cv_rmse_pct <= cv_max, fit.cv_rmse_pct, f"<= {cv_max} %", "ASHRAE G14"
        )
    )
    checks.append(
        Verdict(
            "nmbe",
            abs(fit.nmbe_pct) <= nmbe_max,
            fit.nmbe_pct,
            f"within +-{nmbe_max} %",
            "ASHRAE G14",
        )
    )
    return checks


def backward_elimination(
    frame: pd.DataFrame,
    *,
    energy: str,
    drivers: Sequence[str],
    granularity: str,
    alpha: float = MAX_P_VALUE,
) -> list[str]:
    """Drivers left after removing, one at a time, the least significant (p >= ``alpha``).

    Classic backward elimination: fit with all drivers, drop the one with the largest p-value
    while it is >= ``alpha``, refit. Returns the kept drivers in their original order.
    """
    kept = list(drivers)
    while kept:
        fit = fit_baseline(frame, energy=energy, drivers=kept, granularity=granularity)
        worst = max((c for c in fit.coefficients if c.name != INTERCEPT), key=lambda c: c.p_value)
        if worst.p_value < alpha:
            break
        kept.remove(worst.name)
    return kept
