"""The words of a reading's rejection (pure): how a sent value is shown, and why a value or a
timestamp is refused (``telemetry/validation.py``)."""

from __future__ import annotations

from gridpilot.core.timestamps import describe_ms


def shown(value: object, limit: int = 40) -> str:
    """A short ``repr`` of a sent value for a rejection reason (never raises)."""
    if isinstance(value, str):  # clipped after escaping: a NUL is 4 characters of repr
        text = repr(value[: limit + 1])
        return text if len(value) <= limit and len(text) <= limit + 2 else text[:limit] + "..."
    if isinstance(value, int) and not -(10**limit) < value < 10**limit:
        return "a huge integer" if value > 0 else "a huge negative integer"
    if value is None or isinstance(value, int | float):
        return repr(value)
    return f"a {type(value).__name__}"


def value_reason(value: object) -> str:
    """Why a sent value is not a storable number."""
    if value is None:
        return "value is missing"
    if isinstance(value, bool):
        return "value must be a number, not a boolean"
    if isinstance(value, int):
        return "value is too large for a number (beyond 1.8e308)"
    if isinstance(value, float):
        return f"value {value!r} is not a finite number"
    if isinstance(value, str):
        return f"value must be a number, got str {shown(value)}"
    return f"value must be a number, got {type(value).__name__}"


def time_reason(ts: int, newest: int, max_future_s: int, raw_retention_days: int | None) -> str:
    """Why a timestamp [epoch ms] outside ``[oldest, newest]`` is refused (formats any value);
    ``max_future_s`` [s] and ``raw_retention_days`` are the limits that made the window."""
    if ts > newest:
        return f"timestamp {describe_ms(ts)} is more than {max_future_s} s in the future"
    if ts < 0:
        return f"timestamp {describe_ms(ts)} is before 1970"
    return f"older than raw retention ({raw_retention_days} days)"
