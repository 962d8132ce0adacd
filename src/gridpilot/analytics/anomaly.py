"""Anomaly scores: residual z-scores against a baseline and Isolation Forest over many metrics.

Both return ``Finding`` rows (timestamp, score, severity, detail); the slow-fault trend test is in
``anomaly_trend``.

- **Residual z-score** (seed enms-industrial-iso50001: warning at 2 sigma, critical at 3 sigma):
  ``z = (actual - predicted) / s`` with ``s`` the baseline's residual standard error
  sqrt(SSE / (n - p)) [kWh per period]; ``|z| >= 2`` is a warning, ``|z| >= 3`` critical.
- **Isolation Forest** (Liu, Ting & Zhou, "Isolation Forest", ICDM 2008; scikit-learn): features
  are robustly scaled ((x - median) / IQR), the forest is fitted on the scanned window itself
  (unsupervised), and each row's anomaly score is the paper's ``s(x, n) = 2^(-E[h(x)] / c(n))``
  in (0, 1] (``-score_samples``): near 1 is anomalous, <= 0.5 normal. A row is flagged when
  ``s`` reaches both an absolute floor (0.6 warning, 0.7 critical) and the window's
  ``1 - contamination`` quantile (``1 - contamination / 10`` for critical), so a clean window
  flags at most about ``contamination`` of its rows and usually none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

WARNING_SIGMA = 2.0
CRITICAL_SIGMA = 3.0
IF_WARNING_SCORE = 0.6
IF_CRITICAL_SCORE = 0.7
IF_MIN_ROWS = 32
IF_MAX_SAMPLES = 256


@dataclass(frozen=True)
class Finding:
    """A flagged timestamp: ``score`` is |z| or the isolation score."""

    ts: pd.Timestamp
    score: float
    severity: str
    detail: dict[str, Any] = field(default_factory=dict)


def severity_of_z(z: float) -> str | None:
    """'critical' for |z| >= 3, 'warning' for |z| >= 2, else None."""
    magnitude = abs(z)
    if magnitude >= CRITICAL_SIGMA:
        return "critical"
    if magnitude >= WARNING_SIGMA:
        return "warning"
    return None


def residual_zscores(
    actual: pd.Series, predicted: pd.Series, sigma: float
) -> tuple[pd.Series, list[Finding]]:
    """z per period and the findings with |z| >= 2 (``sigma`` the residual standard error)."""
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValidationFailed("the baseline's residual standard error must be positive")
    z = ((actual - predicted) / sigma).rename("z")
    findings = []
    known = z.notna().to_numpy()
    stamps = pd.DatetimeIndex(z.index)[known]
    measured_all = actual.reindex(z.index).to_numpy()[known]
    modelled_all = predicted.reindex(z.index).to_numpy()[known]
    rows = zip(stamps, z.to_numpy()[known], measured_all, modelled_all, strict=True)
    for ts, value, measured, modelled in rows:
        severity = severity_of_z(float(value))
        if severity is not None:
            findings.append(
                Finding(
                    ts=pd.Timestamp(ts),
                    score=abs(float(value)),
                    severity=severity,
                    detail={
                        "z": float(value),
                        "actual": float(measured),
                        "predicted": float(modelled),
                        "sigma": sigma,
                    },
                )
            )
    return z, findings


def robust_scale(features: pd.DataFrame) -> pd.DataFrame:
    """(x - median) / IQR per column (IQR 0 -> scale 1), so no metric dominates by its unit."""
    median = features.median()
    iqr = features.quantile(0.75) - features.quantile(0.25)
    return (features - median) / iqr.replace(0.0, 1.0)


def isolation_scores(
    features: pd.DataFrame,
    *,
    n_estimators: int = 200,
    max_samples: int = IF_MAX_SAMPLES,
    random_state: int = 0,
) -> pd.Series:
    """The isolation score ``s`` in (0, 1] of every complete row of ``features``.

    Each tree sees ``max_samples`` rows (256, the paper's and scikit-learn's default). Smaller
    subsamples isolate long faults (clusters of rows) better and single-row faults worse
    (Liu et al., 2008, section 3, "swamping and masking"); ``bench/baseline.py`` measures both.
    """
    from sklearn.ensemble import IsolationForest

    complete = features.astype("float64").replace([np.inf, -np.inf], np.nan).dropna()
    if features.shape[1] < 2:
        raise ValidationFailed("Isolation Forest needs at least two metrics")
    if len(complete) < IF_MIN_ROWS:
        raise ValidationFailed(f"Isolation Forest needs at least {IF_MIN_ROWS} complete rows")
    scaled = robust_scale(complete)
    forest = IsolationForest(
        n_estimators=n_estimators,
        max_samples=min(max_samples, len(complete)),
        random_state=random_state,
    )
    forest.fit(scaled.to_numpy())
    return pd.Series(-forest.score_samples(scaled.to_numpy()), index=complete.index, name="score")


def isolation_findings(
    features: pd.DataFrame, *, contamination: float = 0.01, random_state: int = 0
) -> list[Finding]:
    """Rows whose isolation score passes the floors and quantiles described in the module doc.

    The detail names the features furthest from their median (robust z) as likely causes.
    """
    if not 0.0 < contamination < 0.5:
        raise ValidationFailed("contamination must be between 0 and 0.5")
    scores = isolation_scores(features, random_state=random_state)
    warn_at = max(IF_WARNING_SCORE, float(scores.quantile(1.0 - contamination)))
    critical_at = max(IF_CRITICAL_SCORE, float(scores.quantile(1.0 - contamination / 10.0)))
    rows = features.loc[scores.index].astype("float64")
    scaled = robust_scale(rows)
    names = [str(c) for c in rows.columns]
    findings = []
    flagged = (scores >= warn_at).to_numpy()
    stamps = pd.DatetimeIndex(scores.index)[flagged]
    for ts, score, raw, robust in zip(
        stamps,
        scores.to_numpy()[flagged],
        rows.to_numpy()[flagged],
        scaled.to_numpy()[flagged],
        strict=True,
    ):
        top = np.argsort(-np.abs(robust))[:3]
        findings.append(
            Finding(
                ts=pd.Timestamp(ts),
                score=float(score),
                severity="critical" if score >= critical_at else "warning",
                detail={
                    "values": {name: float(v) for name, v in zip(names, raw, strict=True)},
                    "robust_z": {names[i]: float(robust[i]) for i in top},
                    "threshold": warn_at,
                },
            )
        )
    return findings
