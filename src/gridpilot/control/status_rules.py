"""The status a reader sees, a pure function of the facts (``effective_status``):

- the device's Last Will said ``offline`` and nothing was seen since: **offline** (``lwt``);
- the device reported ``error``: **offline** (``error``) until it reports ``online`` again;
- its source was stopped on purpose (``control.stopped``) and no reading or sign of life newer
  than the stop arrived since: **offline** (``stopped``), even while the last data is fresh;
- nothing ever seen: **unknown**;
- newest sign of life (reading time, birth message) at most ``factor x interval`` old: **online**;
- older: **offline** (``stale``).

The stored transitions are ``status.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Row

ONLINE = "online"
OFFLINE = "offline"
UNKNOWN = "unknown"
#: Reasons: Last Will, no data for too long, fresh data, birth message, source stopped on
#: purpose (``control.stopped``), the device reported an error (status ``error``).
LWT, STALE, DATA, BIRTH, STOPPED = "lwt", "stale", "data", "birth", "stopped"
ERROR = "error"
#: Offline reasons that only data taken after them lifts (not the last data being fresh).
STANDING = (LWT, STOPPED)
#: Offline reasons a status message sets, whatever the asset's status was.
ANNOUNCED = (LWT, ERROR)


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    """Staleness: offline after ``factor`` x the asset's expected interval without data, but
    never sooner than ``min_stale_s`` [s]."""

    factor: float
    default_interval_s: float
    min_stale_s: float = 0.0

    def interval_s(self, expected_interval_s: float | None) -> float:
        return expected_interval_s or self.default_interval_s

    def window_ms(self, expected_interval_s: float | None) -> int:
        window_s = max(self.interval_s(expected_interval_s) * self.factor, self.min_stale_s)
        return round(window_s * 1000)


@dataclass(frozen=True, slots=True)
class StatusView:
    """What ``GET .../status`` reports for one asset."""

    asset_id: int
    site_id: int
    status: str
    reason: str | None
    last_seen_ms: int | None
    changed_ms: int | None
    expected_interval_s: float
    stale_after_s: float
    checked_ms: int


def _newest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def last_will_stands(stored: Row | None, tracked_last_seen_ms: int | None) -> bool:
    """Whether the device's Last Will (stored offline, ``lwt``) still decides its status:
    nothing of its own (stored or tracked last-seen) arrived since. Stored readings do not
    lift it (``effective_status``)."""
    if stored is None or stored.status != OFFLINE or stored.reason != LWT:
        return False
    own = _newest(stored.last_seen_ms, tracked_last_seen_ms)
    return own is None or own <= stored.changed_ms


def error_stands(stored: Row | None) -> bool:
    """Whether the device's own error report (stored offline, ``error``) decides its status:
    until it reports ``online`` again, its data does not lift it."""
    return stored is not None and stored.status == OFFLINE and stored.reason == ERROR


def stop_stands(stored: Row | None, seen_ms: int | None) -> bool:
    """Whether a stop on purpose (stored offline, ``stopped``) still decides the status: no
    sign of life or reading taken after the stop (``seen_ms``, the newest of both)."""
    if stored is None or stored.status != OFFLINE or stored.reason != STOPPED:
        return False
    return seen_ms is None or seen_ms <= stored.changed_ms


def effective_status(
    *,
    asset_id: int,
    site_id: int,
    stored: Row | None,
    tracked_last_seen_ms: int | None,
    data_last_seen_ms: int | None,
    expected_interval_s: float | None,
    policy: StatusPolicy,
    now_ms: int,
) -> StatusView:
    """The status of one asset from its facts (see the module docstring).

    ``tracked_last_seen_ms``: this process's newest sign of life (not yet persisted);
    ``data_last_seen_ms``: the newest stored reading time (telemetry).
    """
    interval_s = policy.interval_s(expected_interval_s)
    window = policy.window_ms(expected_interval_s)
    own = _newest(stored.last_seen_ms if stored else None, tracked_last_seen_ms)
    data = min(data_last_seen_ms, now_ms) if data_last_seen_ms is not None else None
    seen = _newest(own, data)

    def view(status: str, reason: str | None, changed_ms: int | None) -> StatusView:
        return StatusView(
            asset_id, site_id, status, reason, seen, changed_ms, interval_s, window / 1000, now_ms
        )

    if stored is not None and last_will_stands(stored, tracked_last_seen_ms):
        return view(OFFLINE, LWT, stored.changed_ms)
    if error_stands(stored):
        return view(OFFLINE, ERROR, stored.changed_ms)  # type: ignore[union-attr]
    if stop_stands(stored, seen):
        return view(OFFLINE, STOPPED, stored.changed_ms)  # type: ignore[union-attr]
    if seen is None:
        return view(UNKNOWN, None, None)
    status = ONLINE if now_ms - seen <= window else OFFLINE
    if stored is not None and stored.status == status:
        return view(status, stored.reason, stored.changed_ms)
    if status == ONLINE:
        return view(ONLINE, DATA, seen)
    return view(OFFLINE, STALE, seen + window)


def statuses_of(
    assets: Iterable[tuple[int, int, float | None]],
    *,
    stored: Mapping[int, Row],
    data: Mapping[int, int | None],
    tracked: Callable[[int], int | None],
    policy: StatusPolicy,
    now_ms: int,
) -> list[StatusView]:
    """``effective_status`` of ``assets`` (id, site id, expected interval [s]) from what is
    known of them: ``stored`` status rows and newest stored reading [ms] per asset id (an
    asset absent from ``data`` has none read), ``tracked`` this process's unsaved last-seen."""
    return [
        effective_status(
            asset_id=asset_id,
            site_id=site_id,
            stored=stored.get(asset_id),
            tracked_last_seen_ms=tracked(asset_id),
            data_last_seen_ms=data.get(asset_id),
            expected_interval_s=interval,
            policy=policy,
            now_ms=now_ms,
        )
        for asset_id, site_id, interval in assets
    ]
