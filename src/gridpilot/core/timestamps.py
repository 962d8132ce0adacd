"""Time helpers. Inside gridpilot time is UTC, stored as integer epoch milliseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from gridpilot.core.errors import ValidationFailed

MS_PER_S = 1000
MS_PER_MIN = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

#: The latest instant gridpilot accepts in a query: 9999-12-31T23:59:59.999Z.
MAX_MS = 253_402_300_799_999

#: Epoch values below this are taken as seconds, not milliseconds (year 2286 in s; 1973 in ms).
_SECONDS_CUTOFF = 10_000_000_000


def now_ms() -> int:
    """Current UTC time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def to_ms(value: object) -> int:
    """Epoch milliseconds from an ISO-8601 string, a datetime, or epoch seconds/milliseconds.

    Naive ISO strings and datetimes are taken as UTC. Raises ``ValidationFailed``.
    """
    if isinstance(value, bool):
        raise ValidationFailed("timestamp must be ISO-8601 or epoch milliseconds, not a boolean")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationFailed("timestamp is not a finite number")
        ms = value * 1000 if abs(value) < _SECONDS_CUTOFF else value
        return round(ms)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(dt.timestamp() * 1000)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("-").isdigit():  # not "³": int() refuses it
            return to_ms(int(text))
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"timestamp {value!r} is not ISO-8601 or epoch ms") from None
        return to_ms(dt)
    raise ValidationFailed(f"timestamp of type {type(value).__name__} is not supported")


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(ms: int) -> str:
    """ISO-8601 UTC string (``2026-01-01T00:00:00Z``, milliseconds when non-zero)."""
    dt = from_ms(ms)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_ms(ms: int, step_ms: int) -> int:
    """Start of the bucket of width ``step_ms`` that contains ``ms``."""
    return ms - (ms % step_ms)


def parse_period(
    start: object | None, end: object | None, *, default_span_ms: int = MS_PER_DAY
) -> tuple[int, int]:
    """``(start_ms, end_ms)`` of a half-open query period ``[start, end)``.

    ``end`` defaults to now (inclusive of a reading stamped now), ``start`` to ``end`` minus
    ``default_span_ms``. Raises ``ValidationFailed`` outside 1970..9999 or when end <= start.
    """
    end_ms = to_ms(end) if end is not None and end != "" else now_ms() + 1
    start_ms = to_ms(start) if start is not None and start != "" else end_ms - default_span_ms
    if not (0 <= start_ms <= MAX_MS and 0 <= end_ms <= MAX_MS):
        raise ValidationFailed("start and end must lie between 1970 and 9999")
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    return start_ms, end_ms
