"""Day-of adjustment: scale or shift a matched-day baseline to the event day's own level.

The load in a window before the event (say the 3 hours ending 1 hour before it; the hour just
before is left out because a customer may already be curtailing, or pre-cooling, in it) is
compared with the unadjusted baseline over the same intervals:

    ratio     f = mean(actual_window) / mean(baseline_window), capped to [1 - cap, 1 + cap]
              adjusted_kw = f * baseline_kw                      (CAISO, NYISO, PG&E)
    additive  d = mean(actual_window) - mean(baseline_window),
              capped to +-cap * mean(baseline_window)
              adjusted_kw = max(0, baseline_kw + d)              (PJM Symmetric Additive Adj.)

``cap`` None leaves the adjustment uncapped (PJM's SAA). The default cap is 20 %.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gridpilot.core.errors import ValidationFailed

NONE, RATIO, ADDITIVE = "none", "ratio", "additive"
DEFAULT_CAP = 0.20


@dataclass(frozen=True)
class Adjustment:
    """How to adjust: ``kind`` none/ratio/additive over the window from ``window_start_h`` to
    ``window_end_h`` hours before the event start, limited to ``cap`` (a fraction, None: no cap)."""

    kind: str = RATIO
    window_start_h: float = 4.0
    window_end_h: float = 1.0
    cap: float | None = DEFAULT_CAP

    def __post_init__(self) -> None:
        if self.kind not in (NONE, RATIO, ADDITIVE):
            raise ValidationFailed(f"adjustment kind must be {NONE}, {RATIO} or {ADDITIVE}")
        if self.kind != NONE and not self.window_start_h > self.window_end_h >= 0:
            raise ValidationFailed("the adjustment window must start before it ends, by the event")
        if self.cap is not None and (self.cap < 0 or (self.kind == RATIO and self.cap >= 1)):
            raise ValidationFailed("the adjustment cap must be a fraction >= 0 (ratio: < 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def adjust(
    spec: Adjustment,
    baseline_kw: np.ndarray,
    actual_window_kw: np.ndarray | None,
    baseline_window_kw: np.ndarray | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The adjusted baseline [kW] and what was applied (``raw`` before the cap, ``applied``).

    Without data in the window (no interval of the window on the event day, or no readings)
    the baseline is returned unchanged and ``applied`` is None, with the reason.
    """
    info: dict[str, Any] = {"kind": spec.kind, "cap": spec.cap, "raw": None, "applied": None}
    base = np.asarray(baseline_kw, dtype="float64")
    if spec.kind == NONE:
        return base, info
    if actual_window_kw is None or baseline_window_kw is None:
        return base, info | {"note": "the window lies before the event's local day"}
    if not (np.isfinite(actual_window_kw).any() and np.isfinite(baseline_window_kw).any()):
        return base, info | {"note": "no readings in the adjustment window"}
    actual = float(np.nanmean(actual_window_kw))
    modelled = float(np.nanmean(baseline_window_kw))
    if spec.kind == RATIO:
        if modelled <= 0:
            return base, info | {"note": "the baseline is zero over the window"}
        raw = actual / modelled
        applied = raw if spec.cap is None else float(np.clip(raw, 1 - spec.cap, 1 + spec.cap))
    else:
        raw = actual - modelled
        limit = None if spec.cap is None else spec.cap * abs(modelled)
        applied = raw if limit is None else float(np.clip(raw, -limit, limit))
    adjusted = apply_adjustment(spec, base, applied)
    return adjusted, info | {"raw": raw, "applied": applied, "capped": applied != raw}


def apply_adjustment(
    spec: Adjustment, baseline_kw: np.ndarray, applied: float | None
) -> np.ndarray:
    """``baseline_kw`` with an adjustment already worked out (a factor for ``ratio``, kW for
    ``additive``; None: unchanged), e.g. the event's first day's on the days after midnight."""
    base = np.asarray(baseline_kw, dtype="float64")
    if applied is None or spec.kind == NONE:
        return base
    return base * applied if spec.kind == RATIO else np.maximum(0.0, base + applied)
