"""Bucket coverage: which buckets hold enough of their data to be scored.

An unfinished bucket (the current hour) or the first bucket of a series that starts mid-bucket
holds part of its samples: its average is biased towards part of the period and its energy
delta is a fraction of the period's (a z of -3.3 on an hour with 15 minutes of data). Such
buckets are never scored:

    coverage = min(count / expected, elapsed share)    in [0, 1]
    count    = samples in the bucket, expected = the median count of the window's buckets with data
    elapsed  = (now - bucket start) / bucket length, capped to [0, 1]

A bucket is scored only when ``coverage >= MIN_BUCKET_COVERAGE`` (0.8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_BUCKET_COVERAGE = 0.8


def bucket_coverage(
    counts: pd.Series, buckets: pd.DatetimeIndex, step: pd.Timedelta, now: pd.Timestamp
) -> pd.Series:
    """Coverage in [0, 1] of each bucket starting at ``buckets`` (sorted, the last ``step`` long).

    ``counts`` are sample counts on any finer or equal grid (NaN = none); each is added to the
    bucket it starts in.
    """
    starts = pd.DatetimeIndex(buckets)
    if len(starts) == 0:
        return pd.Series(dtype="float64")
    known = counts.dropna()
    position = starts.searchsorted(pd.DatetimeIndex(known.index), side="right") - 1
    inside = position >= 0
    per_bucket = (
        pd.Series(known.to_numpy()[inside], dtype="float64")
        .groupby(position[inside])
        .sum()
        .reindex(range(len(starts)), fill_value=0.0)
        .to_numpy()
    )
    with_data = per_bucket[per_bucket > 0]
    expected = float(np.median(with_data)) if len(with_data) else 0.0
    share = per_bucket / expected if expected > 0 else np.zeros(len(starts))
    ends = starts[1:].append(pd.DatetimeIndex([starts[-1] + step]))
    lengths = pd.TimedeltaIndex(pd.DatetimeIndex(ends) - starts)
    since = pd.TimedeltaIndex(pd.Timestamp(now) - starts)
    elapsed = np.asarray(since / lengths, dtype="float64")
    coverage = np.minimum(np.clip(share, 0.0, 1.0), np.clip(elapsed, 0.0, 1.0))
    return pd.Series(coverage, index=starts, name="coverage")


def complete(
    values: pd.Series, coverage: pd.Series, *, minimum: float = MIN_BUCKET_COVERAGE
) -> pd.Series:
    """``values`` with the buckets under ``minimum`` coverage set to NaN (not scored)."""
    keep = coverage.reindex(values.index).fillna(0.0) >= minimum
    return values.where(keep)
