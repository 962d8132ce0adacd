"""Time helpers. Inside gridpilot time is UTC, stored as integer epoch milliseconds."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from gridpilot.core.errors import ValidationFailed

MS_PER_S = 1000
MS_PER_MIN = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

#: The latest instant gridpilot accepts in a query: 9999-12-31T23:59:59.999Z.
MAX_MS = 253_402_300_799_999
#: The latest instant a datetime holds (the same: 9999-12-31T23:59:59.999Z).
MAX_DATETIME_MS = MAX_MS

#: The earliest instant a datetime holds: 0001-01-01T00:00:00Z.
MIN_DATETIME_MS = -62_135_596_800_000

#: Epoch values below this are taken as seconds, not milliseconds (year 2286 in s; 1973 in ms).
_SECONDS_CUTOFF = 10_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() also takes "٣" and "1_0"
_MAX_DIGITS = 30  # longer epoch numbers are far outside any range


def _shown(text: str, limit: int = 40) -> str:
    """``repr`` of ``text``, clipped for an error message (escapes count: NUL is 4 chars)."""
    shown = repr(text[: limit + 1])
    return shown if len(text) <= limit and len(shown) <= limit + 2 else shown[:limit] + "..."


def now_ms() -> int:
    """Current UTC time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def to_ms(value: object) -> int:
    """Epoch milliseconds from an ISO-8601 string, a datetime, or epoch seconds/milliseconds.

    Naive ISO strings and datetimes are taken as UTC. Any size of number is accepted (the
    caller checks the range). Raises ``ValidationFailed``, never anything else.
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
        try:
            return round(dt.timestamp() * 1000)
        except (OverflowError, ValueError, OSError):  # a tzinfo that misbehaves
            raise ValidationFailed("timestamp is out of range") from None
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            if len(text) > _MAX_DIGITS:
                raise ValidationFailed(f"timestamp {_shown(value)} is out of range")
            return to_ms(int(text))
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValidationFailed(
                f"timestamp {_shown(value)} is not ISO-8601 or epoch ms"
            ) from None
        return to_ms(dt)
    raise ValidationFailed(f"timestamp of type {type(value).__name__} is not supported")


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds; ``ValidationFailed`` outside years 1..9999."""
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except (OverflowError, ValueError, TypeError):
        raise ValidationFailed(
            f"timestamp {describe_ms(ms)} is outside the years 1 to 9999"
        ) from None


def iso(ms: int) -> str:
    """ISO-8601 UTC string (``2026-01-01T00:00:00Z``, milliseconds when non-zero).

    Raises ``ValidationFailed`` outside the years 1..9999 (``describe_ms`` never raises).
    """
    dt = from_ms(ms)
    text = f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}"  # %Y is not zero-padded before the year 1000
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else f"{text}Z"


def describe_ms(ms: object) -> str:
    """A timestamp for a message, whatever its value: ISO-8601 when a datetime can hold it,
    else the epoch milliseconds (long numbers abbreviated). Never raises."""
    if isinstance(ms, int) and not isinstance(ms, bool):
        if MIN_DATETIME_MS <= ms <= MAX_DATETIME_MS:
            return iso(ms)
        if -(10**24) < ms < 10**24:
            return f"{ms} ms"
        digits = len(str(abs(ms))) if -(10**4000) < ms < 10**4000 else 4001
        return f"{'-' if ms < 0 else ''}10^{digits - 1} ms or more"
    if isinstance(ms, float):
        return f"{ms:.6g} ms"
    return f"of type {type(ms).__name__}"


def floor_ms(ms: int, step_ms: int) -> int:
    """Start of the bucket of width ``step_ms`` that contains ``ms``."""
    return ms - (ms % step_ms)


def iso_local(ms: int, timezone: str) -> str:
    """ISO-8601 local time with its UTC offset (``2026-03-29T00:00:00+01:00``) in ``timezone``."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).isoformat(timespec="seconds")


def local_midnight_ms(timezone: str, at_ms: int) -> int:
    """Epoch ms of the start of the local calendar day that contains ``at_ms`` in ``timezone``
    (an IANA name); a day is local midnight to local midnight (23 or 25 h at DST changes)."""
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(at_ms / 1000, zone)
    midnight = datetime.combine(local.date(), clock_time(0), zone)
    return int(midnight.timestamp() * 1000)


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
