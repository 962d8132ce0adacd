"""Whether one notification reaches one user, now, later or never: pure, no I/O.

``decide`` applies a user's ``Preferences`` to an alert for one medium (e-mail, webhook, in-app):

1. the medium is off, or the alert's severity, kind or site is not among the user's: ``drop``;
2. in-app: ``send`` (quiet hours never hide the dashboard's toasts; the alert is recorded anyway);
3. e-mail and webhook inside the quiet hours: a critical alert is sent at once when
   ``critical_override`` (the default); otherwise ``hold`` until the quiet hours end
   (``during: hold``, the default) or ``drop`` (``during: drop``);
4. else ``send``.

Quiet hours are local wall-clock times in the user's time zone, so a DST change moves them with
the clock: 22:00-07:00 in Europe/Rome lasts 8 h on the night clocks go forward (29 March 2026),
10 h on the night they go back (25 October 2026). A local time that does not exist that day (in
the skipped hour) is read with the offset before the change (PEP 495): an end at 02:30 on the
night clocks go forward ends the quiet hours at 03:30 summer time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from gridpilot.alerts.preference_schemas import Medium, Preferences, QuietHours

Action = Literal["send", "hold", "drop"]


@dataclass(frozen=True)
class Verdict:
    """What to do with one notification for one user; ``until_ms`` is set for ``hold``."""

    action: Action
    reason: str = ""
    until_ms: int | None = None


SEND = Verdict("send")


def _local_instant(day: datetime, hhmm: tuple[int, int], zone: ZoneInfo) -> datetime:
    """``day``'s local ``hhmm`` as an aware UTC instant (PEP 495, ``fold=0``)."""
    return datetime(day.year, day.month, day.day, hhmm[0], hhmm[1], tzinfo=zone).astimezone(UTC)


def quiet_until(quiet: QuietHours, now_ms: int) -> int | None:
    """The end of the quiet period ``now_ms`` falls in [epoch ms], or None when not quiet."""
    zone = ZoneInfo(quiet.time_zone)
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    start_t, end_t = quiet.bounds()
    start, end = (start_t.hour, start_t.minute), (end_t.hour, end_t.minute)
    wall = (now.hour, now.minute)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if start < end:  # within one day
        if not start <= wall < end:
            return None
        until = _local_instant(today, end, zone)
    elif wall >= start:  # crosses midnight: the evening part, ends tomorrow
        until = _local_instant(today + timedelta(days=1), end, zone)
    elif wall < end:  # the morning part, ends today
        until = _local_instant(today, end, zone)
    else:
        return None
    until_ms = int(until.timestamp() * 1000)
    return until_ms if until_ms > now_ms else None


def decide(
    prefs: Preferences,
    *,
    medium: Medium,
    severity: str,
    kind: str,
    site_id: int,
    now_ms: int,
) -> Verdict:
    """The verdict of ``prefs`` on an alert (``severity``, ``kind``, ``site_id``) by ``medium``."""
    chosen = prefs.medium(medium)
    if not chosen.enabled:
        return Verdict("drop", f"{medium} notifications are off")
    if severity not in chosen.severities:
        return Verdict("drop", f"{severity} alerts are not sent by {medium}")
    if prefs.kinds is not None and kind not in prefs.kinds:
        return Verdict("drop", f"{kind} alerts are not among the chosen kinds")
    if prefs.site_ids is not None and site_id not in prefs.site_ids:
        return Verdict("drop", f"site {site_id} is not among the chosen sites")
    if medium == "in_app" or prefs.quiet_hours is None:
        return SEND
    quiet = prefs.quiet_hours
    until = quiet_until(quiet, now_ms)
    if until is None:
        return SEND
    if severity == "critical" and quiet.critical_override:
        return SEND
    if quiet.during == "drop":
        return Verdict("drop", "quiet hours")
    return Verdict("hold", "quiet hours", until)
