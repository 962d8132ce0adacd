"""Hourly shared energy per primary substation, from metered energy per POD.

Definition (ARERA TIAD, 727/2022/R/eel, art. 1; DM 414/2023 art. 2; GSE Regole operative):
in every hour and for the PODs of one group (the eligible PODs under one primary substation for
the incentive; all PODs of one market zone for the ARERA valorisation)::

    E_shared,h = min( sum_p E_injected,p,h ; sum_p E_withdrawn,p,h )     [kWh]

always hour by hour: the minimum of daily or monthly totals is larger (a sunny noon cannot
serve the evening), see ``tests/analytics/community/test_shared_energy.py``. Groups never
share with each other.

Input: energy per interval [kWh] per POD (the interval starting at the timestamp, UTC), at a
step that divides the hour (15 min or 1 h). Sub-hourly values are summed into their UTC hour;
an hour of a POD is complete only when every interval of it is present (not NaN) in both
directions. A group's hour is complete when all its PODs are; an incomplete hour has no shared
energy (NaN) and is listed in ``missing_hours`` (energy of an unknown hour is not guessed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridpilot.analytics.community.configuration import Pod
from gridpilot.core.errors import ValidationFailed

HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class HourlyEnergy:
    """Energy per UTC hour and POD [kWh]; NaN where the hour of that POD is incomplete."""

    hours: pd.DatetimeIndex
    pods: tuple[str, ...]
    injected_kwh: np.ndarray  # (hours, pods)
    withdrawn_kwh: np.ndarray  # (hours, pods)

    @property
    def complete(self) -> np.ndarray:
        return ~(np.isnan(self.injected_kwh) | np.isnan(self.withdrawn_kwh))


def _step(index: pd.DatetimeIndex) -> pd.Timedelta:
    if len(index) < 2:
        return HOUR
    step = pd.Timedelta(int(np.diff(index.as_unit("ns").asi8).min()), unit="ns")
    if step <= pd.Timedelta(0) or HOUR % step != pd.Timedelta(0):
        raise ValidationFailed(f"interval {step} does not divide the hour (or timestamps repeat)")
    return step


def _per_hour(frame: pd.DataFrame, grid: pd.DatetimeIndex, per_hour: int) -> np.ndarray:
    if not frame.index.equals(grid):  # rows absent from the frame become missing intervals
        frame = frame.reindex(grid)
    values = frame.to_numpy(dtype="float64", na_value=np.nan)
    if (values < 0).any():
        raise ValidationFailed("energy per interval must not be negative")
    cube = values.reshape(len(grid) // per_hour, per_hour, values.shape[1])
    return cube.sum(axis=1)  # NaN when any interval of the hour is missing


def _within(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``[start, end)`` (a view when the index is sorted)."""
    index = pd.DatetimeIndex(frame.index)
    if index.is_monotonic_increasing:
        return frame.iloc[index.searchsorted(start) : index.searchsorted(end)]
    return frame[(index >= start) & (index < end)]


def to_hourly(
    injected_kwh: pd.DataFrame,
    withdrawn_kwh: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> HourlyEnergy:
    """Sum both directions into UTC hours of ``[start, end)`` (hour-aligned, tz-aware).

    Columns are POD codes (the same in both frames); rows absent from a frame count as
    missing intervals."""
    start, end = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    if start.floor("h") != start or end.floor("h") != end or end <= start:
        raise ValidationFailed(f"period {start} .. {end} must be whole UTC hours")
    if list(injected_kwh.columns) != list(withdrawn_kwh.columns):
        raise ValidationFailed("injected and withdrawn energy must have the same POD columns")
    for frame in (injected_kwh, withdrawn_kwh):
        if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
            raise ValidationFailed("energy frames need a tz-aware DatetimeIndex")
    injected_kwh, withdrawn_kwh = (
        _within(injected_kwh, start, end),
        _within(withdrawn_kwh, start, end),
    )
    step = min(
        _step(pd.DatetimeIndex(injected_kwh.index)), _step(pd.DatetimeIndex(withdrawn_kwh.index))
    )
    grid = pd.date_range(start, end, freq=step, inclusive="left")
    per_hour = int(HOUR / step)
    return HourlyEnergy(
        hours=pd.date_range(start, end, freq="h", inclusive="left"),
        pods=tuple(str(c) for c in injected_kwh.columns),
        injected_kwh=_per_hour(injected_kwh, grid, per_hour),
        withdrawn_kwh=_per_hour(withdrawn_kwh, grid, per_hour),
    )


@dataclass(frozen=True)
class SharedEnergy:
    """Per hour and group [kWh]: injected and withdrawn sums and the shared energy (NaN in
    incomplete hours); the incomplete hours and the coverage (complete / all hours)."""

    hours: pd.DatetimeIndex
    groups: tuple[str, ...]
    injected_kwh: np.ndarray  # (hours, groups)
    withdrawn_kwh: np.ndarray
    shared_kwh: np.ndarray
    missing_hours: dict[str, list[pd.Timestamp]]
    coverage: dict[str, float]

    def frame(self) -> pd.DataFrame:
        """The shared energy as a table: UTC hours x groups."""
        return pd.DataFrame(self.shared_kwh, index=self.hours, columns=list(self.groups))

    def total_kwh(self, group: str) -> float:
        """Shared energy of ``group`` over its complete hours."""
        return float(np.nansum(self.shared_kwh[:, self.groups.index(group)]))


def membership(
    hourly: HourlyEnergy, pods: Sequence[Pod], key: Callable[[Pod], str | None]
) -> tuple[tuple[str, ...], np.ndarray]:
    """Groups (sorted) and the 0/1 matrix POD x group; ``key`` None leaves a POD out."""
    by_code = {p.code: p for p in pods}
    unknown = [c for c in hourly.pods if c not in by_code]
    if unknown:
        raise ValidationFailed(f"energy for unknown PODs: {unknown[:5]}")
    keys = [key(by_code[c]) for c in hourly.pods]
    groups = tuple(sorted({k for k in keys if k is not None}))
    matrix = np.zeros((len(hourly.pods), len(groups)))
    for i, k in enumerate(keys):
        if k is not None:
            matrix[i, groups.index(k)] = 1.0
    return groups, matrix


def shared_energy(
    hourly: HourlyEnergy, pods: Sequence[Pod], *, key: Callable[[Pod], str | None] | None = None
) -> SharedEnergy:
    """Hourly shared energy per group; by default the eligible PODs per primary substation."""
    key = key or (lambda p: p.substation if p.eligible else None)
    groups, matrix = membership(hourly, pods, key)
    injected = np.nan_to_num(hourly.injected_kwh) @ matrix
    withdrawn = np.nan_to_num(hourly.withdrawn_kwh) @ matrix
    incomplete = (~hourly.complete).astype("float64") @ matrix > 0
    shared = np.where(incomplete, np.nan, np.minimum(injected, withdrawn))
    missing = {g: list(hourly.hours[incomplete[:, j]]) for j, g in enumerate(groups)}
    n = max(len(hourly.hours), 1)
    coverage = {g: 1.0 - len(missing[g]) / n for g in groups}
    return SharedEnergy(hourly.hours, groups, injected, withdrawn, shared, missing, coverage)
