"""Versioned parameters: the values in force for a period, and closed periods that stay closed.

A parameter (a TIP band, the zonal PV bonus, the ARERA valorisation of a year...) is never a
constant: it is a list of versions ``(name, value, valid_from, valid_to, recorded_at)``.
``valid_to`` is exclusive (``None``: open-ended). When versions of one name overlap, the one
recorded last wins for the dates they share (a correction recorded later supersedes), so the
history is append-only and a settlement can be recomputed "as of" the moment it was made.

A period is *closed* up to a date once it has been settled and paid; ``add_version`` refuses a
new version that would change the value in force on any closed date. It may still be recorded
if it agrees with what was in force there (e.g. it restates the value and changes only later
dates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gridpilot.core.errors import Conflict, ValidationFailed


@dataclass(frozen=True)
class ParameterVersion:
    """One version of a parameter, valid on ``valid_from <= day < valid_to``."""

    name: str
    value: Any
    valid_from: date
    valid_to: date | None
    recorded_at: datetime

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


_MISSING = object()


def value_on(
    versions: Iterable[ParameterVersion], name: str, day: date, *, as_of: datetime | None = None
) -> Any:
    """The value of ``name`` in force on ``day`` (as recorded up to ``as_of``); ``_MISSING``
    when no version covers the day."""
    best: ParameterVersion | None = None
    for v in versions:
        if v.name != name or not v.covers(day):
            continue
        if as_of is not None and v.recorded_at > as_of:
            continue
        if best is None or v.recorded_at >= best.recorded_at:
            best = v
    return _MISSING if best is None else best.value


def _breakpoints(
    versions: Sequence[ParameterVersion], name: str, start: date, end: date
) -> list[date]:
    """Days in ``[start, end)`` where the value of ``name`` may change, ``start`` first."""
    days = {start}
    for v in versions:
        if v.name != name:
            continue
        for d in (v.valid_from, v.valid_to):
            if d is not None and start < d < end:
                days.add(d)
    return sorted(days)


def resolve(
    versions: Sequence[ParameterVersion],
    start: date,
    end: date,
    *,
    names: Iterable[str] | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The value of each parameter in force over the whole period ``[start, end)``.

    Raises ``ValidationFailed`` when a parameter is missing on some day of the period or
    changes inside it (settle the two parts separately)."""
    if end <= start:
        raise ValidationFailed(f"empty period {start} .. {end}")
    wanted = sorted(set(names) if names is not None else {v.name for v in versions})
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in wanted:
        seen = [
            value_on(versions, name, d, as_of=as_of)
            for d in _breakpoints(versions, name, start, end)
        ]
        if any(s is _MISSING for s in seen):
            problems.append(f"{name}: no version in force on part of {start} .. {end}")
        elif any(s != seen[0] for s in seen[1:]):
            problems.append(f"{name}: changes inside {start} .. {end}; split the period")
        else:
            values[name] = seen[0]
    if problems:
        raise ValidationFailed(
            "parameters not resolvable: " + "; ".join(problems), details=problems
        )
    return values


def add_version(
    versions: Sequence[ParameterVersion], new: ParameterVersion, *, closed_through: date | None
) -> tuple[ParameterVersion, ...]:
    """``versions`` plus ``new``, unless ``new`` would change a value in force on a day up to
    ``closed_through`` (inclusive): then ``Conflict``, naming the first day it would change."""
    if new.valid_to is not None and new.valid_to <= new.valid_from:
        raise ValidationFailed(f"{new.name}: valid_to {new.valid_to} is not after valid_from")
    latest = max((v.recorded_at for v in versions if v.name == new.name), default=None)
    if latest is not None and new.recorded_at <= latest:
        raise ValidationFailed(f"{new.name}: recorded_at must be after the last version's {latest}")
    after = (*versions, new)
    if closed_through is not None and new.valid_from <= closed_through:
        end = closed_through + timedelta(days=1)
        if new.valid_to is not None:
            end = min(end, new.valid_to)
        for day in _breakpoints(after, new.name, new.valid_from, end):
            if value_on(versions, new.name, day) != value_on(after, new.name, day):
                raise Conflict(
                    f"{new.name}: the new version would change {day}, in a period closed "
                    f"through {closed_through}",
                    details={"parameter": new.name, "day": day.isoformat()},
                )
    return after
