"""Uncertainty of avoided-energy savings from a regression baseline (ASHRAE Guideline 14).

For savings ``E_save = sum(predicted) - sum(actual)`` over ``m`` reporting periods, with a
baseline fitted on ``n`` periods with ``p`` parameters and a coefficient of variation of its
residuals ``CV`` (CV(RMSE) as a fraction), the absolute uncertainty at confidence ``c`` is
(ASHRAE Guideline 14-2014, Annex B, eq. B-14; Reddy & Claridge 2000)::

    U_save = t(1 - (1 - c) / 2, n - p) * 1.26 * CV * E_pred * sqrt((n / n') * (1 + 2 / n) / m)

where ``E_pred`` is the baseline's prediction summed over the reporting period [kWh], ``t`` the
two-sided Student t value, and ``n'`` the effective number of baseline points (``n`` for
uncorrelated residuals; ``n (1 - rho) / (1 + rho)`` with the lag-1 autocorrelation ``rho`` of the
residuals when given). The 1.26 factor is the guideline's empirical correction for the
approximation. The fractional savings uncertainty is ``U_save / E_save``.

References:
    ASHRAE Guideline 14-2014, *Measurement of Energy, Demand, and Water Savings*, Annex B.
    T. A. Reddy, D. E. Claridge, "Uncertainty of 'measured' energy savings from statistical
    baseline models", HVAC&R Research 6(1), 2000, pp. 3-20.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

#: The guideline's empirical correction factor [-].
ASHRAE_FACTOR = 1.26


@dataclass(frozen=True)
class SavingsUncertainty:
    """``uncertainty_kwh``: half-width of the interval [kWh]; ``fraction``: of the savings."""

    uncertainty_kwh: float
    fraction: float | None
    confidence: float
    t_value: float
    effective_n: float


def savings_uncertainty(
    *,
    savings_kwh: float,
    predicted_kwh: float,
    cv_rmse_pct: float,
    n_baseline: int,
    n_params: int,
    m_reporting: int,
    confidence: float = 0.90,
    rho: float = 0.0,
) -> SavingsUncertainty | None:
    """The savings' uncertainty (None when undefined: no degrees of freedom or no period).

    ``cv_rmse_pct`` [%] is the baseline model's CV(RMSE); ``rho`` the lag-1 autocorrelation of
    its residuals (0: uncorrelated).
    """
    dof = n_baseline - n_params
    if dof < 1 or m_reporting < 1 or not 0 < confidence < 1 or not -1 < rho < 1:
        return None
    effective_n = n_baseline * (1 - rho) / (1 + rho)
    t_value = float(stats.t.ppf(1 - (1 - confidence) / 2, dof))
    spread = math.sqrt((n_baseline / effective_n) * (1 + 2 / n_baseline) / m_reporting)
    half_width = t_value * ASHRAE_FACTOR * (cv_rmse_pct / 100.0) * abs(predicted_kwh) * spread
    fraction = half_width / abs(savings_kwh) if savings_kwh else None
    return SavingsUncertainty(half_width, fraction, confidence, t_value, effective_n)
