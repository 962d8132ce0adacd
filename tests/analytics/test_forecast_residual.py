"""The short-term correction: the best linear predictor of the next residuals from the latest
ones, checked against the closed forms of AR(1) and AR(2) processes (Brockwell & Davis 2016,
section 2.5 and 3.1)."""

from __future__ import annotations

import numpy as np
import pytest

from gridpilot.analytics.forecast_residual import (
    autocovariance,
    predicted_residuals,
    residual_predictor,
)


def ar1_autocovariance(phi: float, sigma2: float, lags: int) -> np.ndarray:
    """c_k = sigma2 phi^k / (1 - phi^2)."""
    return sigma2 * phi ** np.arange(lags + 1) / (1 - phi**2)


def test_an_ar1_process_is_predicted_from_its_last_value_alone():
    acov = ar1_autocovariance(0.8, 1.0, 40)
    w = residual_predictor(acov, 4, 10)
    expected = np.zeros((10, 4))
    expected[:, 0] = 0.8 ** np.arange(1, 11)  # P X_{n+h} = phi^h X_n
    np.testing.assert_allclose(w, expected, atol=3e-3)


def test_an_ar2_process_gets_its_two_coefficients_one_step_ahead():
    a1, a2 = 0.5, 0.3
    rho = [1.0, a1 / (1 - a2)]
    for _ in range(30):
        rho.append(a1 * rho[-1] + a2 * rho[-2])
    w = residual_predictor(np.array(rho) * 2.5, 4, 2)
    np.testing.assert_allclose(w[0], [a1, a2, 0.0, 0.0], atol=3e-3)
    # two steps: X_{n+2} = a1 X_{n+1} + a2 X_n -> (a1^2 + a2) X_n + a1 a2 X_{n-1}
    np.testing.assert_allclose(w[1], [a1 * a1 + a2, a1 * a2, 0.0, 0.0], atol=3e-3)


def test_noise_on_top_of_a_persistent_error_is_averaged_over_several_residuals():
    """An AR(1) error seen through white noise: the last residual alone is worth less than its
    autocorrelation says; the predictor spreads the weight over the last residuals and its
    error is smaller than the single-residual carry's, on a simulated series."""
    rng = np.random.default_rng(3)
    n, phi = 200_000, 0.9
    ar = np.zeros(n)
    shocks = rng.normal(0, 1, n)
    for i in range(1, n):
        ar[i] = phi * ar[i - 1] + shocks[i]
    r = ar + rng.normal(0, 2.0, n)
    acov = autocovariance(r, 20)
    w = residual_predictor(acov, 4, 1)[0]
    assert (w > 0.05).all() and w[0] > w[-1]
    lagged = np.column_stack([r[3 - j : n - 1 - j] for j in range(4)])  # newest first
    target = r[4:]
    error_predictor = np.mean((target - lagged @ w) ** 2)
    error_carry = np.mean((target - acov[1] / acov[0] * lagged[:, 0]) ** 2)
    assert error_predictor < 0.93 * error_carry


def test_autocovariance_skips_missing_values_and_lags_with_few_pairs():
    r = np.array([1.0, -1.0, 2.0, np.nan, 0.5, -0.5, 1.5, -2.0, 0.0, 1.0, -1.0, 0.5, 2.0, -1.5])
    acov = autocovariance(r, len(r) - 1)
    ok = np.isfinite(r)
    z = np.where(ok, r, 0.0)
    for k in range(4):
        pairs = (ok[: len(r) - k] & ok[k:]).sum()
        expected = np.sum(z[: len(r) - k] * z[k:]) / pairs if pairs > 10 else 0.0
        assert acov[k] == pytest.approx(expected)
    assert acov[-1] == 0.0  # one pair: not trusted


def test_the_correction_is_zero_beyond_the_predictor_and_needs_every_recent_residual():
    w = residual_predictor(ar1_autocovariance(0.5, 1.0, 10), 2, 3)
    out = predicted_residuals(w, np.array([2.0, 1.0]), 1, 4)
    np.testing.assert_allclose(out, [0.5, 0.25, 0.0, 0.0], atol=3e-3)  # leads 2, 3; then none
    with pytest.raises(ValueError):
        predicted_residuals(w, np.array([2.0]), 0, 1)
    assert not residual_predictor(np.zeros(5), 3, 2).any()
