"""The intervals a balance is solved on: uniform UTC-aligned steps (15 min, 1 h) or the days of
a site's own time zone (local midnight to local midnight: 23 h or 25 h at DST changes).

A grid is a list of edges [ms]; the SQL maps a timestamp onto its interval with
``bucket_sql``: a ``CASE`` over the grid's *runs* (maximal stretches of equal width), so a year
of local days is a handful of branches (one per DST change), not one per day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from gridpilot.core.errors import ValidationFailed
from gridpilot.telemetry.rollups import STEPS_MS, floor_to

DAY_MS = STEPS_MS["1d"]
#: Interval names a caller may ask for, and the longest period [ms] each may cover.
MAX_PERIOD_MS = {"15m": 31 * DAY_MS, "1h": 400 * DAY_MS, "1d": 400 * DAY_MS}
#: Without an interval asked for: 15 min up to 7 days, 1 h beyond.
FINE_UP_TO_MS = 7 * DAY_MS


@dataclass(frozen=True)
class Grid:
    """Intervals ``[edges[i], edges[i + 1])`` [ms] named ``name`` (15m, 1h or 1d)."""

    name: str
    edges: tuple[int, ...]
    _index: dict[int, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return len(self.edges) - 1

    @property
    def lo(self) -> int:
        return self.edges[0]

    @property
    def hi(self) -> int:
        return self.edges[-1]

    @property
    def nominal_ms(self) -> int:
        """The interval's nominal width [ms] (a day is 24 h even when DST makes it 23 h)."""
        return STEPS_MS[self.name]

    @cached_property
    def runs(self) -> tuple[tuple[int, int], ...]:
        """``(start, width)`` of each maximal stretch of intervals of one width [ms]."""
        runs: list[tuple[int, int]] = []
        for a, b in zip(self.edges, self.edges[1:], strict=False):
            if not runs or b - a != runs[-1][1]:
                runs.append((a, b - a))
        return tuple(runs)

    @cached_property
    def level_ms(self) -> int:
        """The coarsest rollup level whose buckets nest in the intervals."""
        fitting = [
            step
            for step in STEPS_MS.values()
            if all(e % step == 0 for e in self.edges) and step <= min(w for _, w in self.runs)
        ]
        return max(fitting) if fitting else STEPS_MS["1m"]

    def index(self, bucket_ms: int) -> int | None:
        """The position of the interval starting at ``bucket_ms`` (None: not an edge)."""
        if not self._index:
            self._index.update({e: i for i, e in enumerate(self.edges[:-1])})
        return self._index.get(bucket_ms)

    def bucket_sql(self, column: str) -> str:
        """SQL for the start of the interval holding ``column`` (before the grid: the first run
        extended backwards)."""
        branches = [_floor(column, start, width) for start, width in self.runs]
        if len(branches) == 1:
            return branches[0]
        cases = " ".join(
            f"WHEN {column} >= {start} THEN {branch}"
            for (start, _), branch in reversed(list(zip(self.runs, branches, strict=True)))
        )
        return f"(CASE {cases} ELSE {branches[0]} END)"

    def width_sql(self, column: str) -> str:
        """SQL for the width [ms] of the interval starting at ``column``."""
        if len(self.runs) == 1:
            return str(self.runs[0][1])
        cases = " ".join(f"WHEN {column} >= {s} THEN {w}" for s, w in reversed(self.runs))
        return f"(CASE {cases} ELSE {self.runs[0][1]} END)"


def _floor(column: str, start: int, width: int) -> str:
    rel = f"({column} - {start})"
    return f"({column} - ((({rel} % {width}) + {width}) % {width}))"


def uniform_grid(name: str, start_ms: int, end_ms: int) -> Grid:
    """UTC-aligned intervals of ``name`` (15m, 1h) covering ``[start_ms, end_ms)``."""
    step = STEPS_MS[name]
    lo, hi = floor_to(start_ms, step), -floor_to(-end_ms, step)
    return Grid(name, tuple(range(lo, hi + 1, step)))


def local_days(start_ms: int, end_ms: int, timezone: str) -> Grid:
    """The days of ``timezone`` covering ``[start_ms, end_ms)``: local midnights as edges."""
    zone = ZoneInfo(timezone)
    day = datetime.fromtimestamp(start_ms / 1000, zone).date()
    edges = []
    while True:
        midnight = _midnight(day, zone)
        edges.append(midnight)
        if midnight >= end_ms:
            break
        day += timedelta(days=1)
    return Grid("1d", tuple(edges))


def _midnight(day: date, zone: ZoneInfo) -> int:
    """UTC ms of the first instant of ``day`` in ``zone``: a skipped midnight maps (fold 0) to
    the end of the gap, a repeated one to its first occurrence."""
    local = datetime.combine(day, time(), tzinfo=zone)
    return int(local.astimezone(UTC).timestamp() * 1000)


def make_grid(start_ms: int, end_ms: int, interval: str | None, timezone: str = "UTC") -> Grid:
    """The grid for a period: ``interval`` (15m, 1h, 1d) or by the length of the period."""
    span = end_ms - start_ms
    name = interval or ("15m" if span <= FINE_UP_TO_MS else "1h")
    if name not in MAX_PERIOD_MS:
        raise ValidationFailed(f"interval must be one of {', '.join(MAX_PERIOD_MS)}")
    if span <= 0 or span > MAX_PERIOD_MS[name]:
        days = MAX_PERIOD_MS[name] // DAY_MS
        raise ValidationFailed(
            f"a balance in intervals of {name} needs a period of more than 0 and at most "
            f"{days} days"
        )
    return (
        local_days(start_ms, end_ms, timezone)
        if name == "1d"
        else uniform_grid(
            name,
            *(
                start_ms,
                end_ms,
            ),
        )
    )
