"""The pure rules of a staged roll-out: waves, device transitions, when to pause (no I/O).

Waves: the canary (wave 0) is ``ceil(n x canary_pct / 100)`` devices, at least one; the rest
follow in waves of ``wave_size``, in asset id order. A wave's failure rate is its failed devices
over its size; passing ``max_failure_pct`` pauses the roll-out at once (a burst of failures need
not wait for the wave's last device). Resuming accepts the failures so far: only further ones
in the same wave pause it again. The next wave is offered when every device of the current
one has finished (verified or failed) and the roll-out runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

PENDING, OFFERED, DOWNLOADING, INSTALLED = "pending", "offered", "downloading", "installed"
VERIFIED, FAILED = "verified", "failed"
FINISHED = frozenset({VERIFIED, FAILED})
#: What a device may report next, from each state (a device may skip ahead).
NEXT: dict[str, frozenset[str]] = {
    OFFERED: frozenset({DOWNLOADING, INSTALLED, FAILED}),
    DOWNLOADING: frozenset({DOWNLOADING, INSTALLED, FAILED}),
    INSTALLED: frozenset({FAILED}),
}
REPORTABLE = (DOWNLOADING, INSTALLED, FAILED)


def plan_waves(count: int, canary_pct: float, wave_size: int) -> list[int]:
    """The wave of each of ``count`` devices, in order: ``[0, 1, 1, 2, ...]``."""
    if count == 0:
        return []
    canary = min(count, max(1, math.ceil(count * canary_pct / 100)))
    return [0] * canary + [1 + i // wave_size for i in range(count - canary)]


def failure_pct(states: Sequence[str]) -> float:
    """Failed devices of a wave in percent of its size (0 for an empty wave)."""
    return 100.0 * sum(s == FAILED for s in states) / len(states) if states else 0.0


def over_threshold(states: Sequence[str], max_failure_pct: float, accepted: int = 0) -> bool:
    """Whether the wave's failures, less the ``accepted`` ones (by a resume), pass the threshold
    (strictly above it)."""
    if not states:
        return False
    failed = sum(s == FAILED for s in states) - accepted
    return 100.0 * failed / len(states) > max_failure_pct


def wave_finished(states: Sequence[str]) -> bool:
    return all(s in FINISHED for s in states)


def verdict(reported: str | None, expected: str) -> tuple[str, str | None]:
    """An installed device's outcome by the version it reports: verified, or failed and why."""
    if reported == expected:
        return VERIFIED, None
    return FAILED, f"reports version {reported!r} after installing {expected!r}"
