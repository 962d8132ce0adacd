"""Notification preferences, the pure rules: what is sent, held or dropped, and quiet hours
across midnight and DST (instants worked out by hand from the zones' offsets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gridpilot.alerts.preference_schemas import DEFAULT, Preferences
from gridpilot.alerts.preferences import decide, quiet_until


def ms(text: str) -> int:
    """Epoch ms of an ISO-8601 UTC time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def prefs(**fields: object) -> Preferences:
    return Preferences.model_validate(fields)


NIGHT = {"start": "22:00", "end": "07:00", "time_zone": "Europe/Rome"}
NOON = ms("2026-06-10T10:00:00")


def verdict(p: Preferences, *, medium="email", severity="warning", kind="threshold", site=1, at):
    return decide(p, medium=medium, severity=severity, kind=kind, site_id=site, now_ms=at)


def test_defaults_send_everything_by_every_channel():
    for medium in ("email", "webhook", "in_app"):
        for severity in ("info", "warning", "critical"):
            assert verdict(DEFAULT, medium=medium, severity=severity, at=NOON).action == "send"


def test_severity_kind_and_site_filters_drop_with_a_reason():
    p = prefs(email={"severities": ["critical"]}, kinds=["stale", "threshold"], site_ids=[1, 2])
    assert verdict(p, severity="warning", at=NOON).action == "drop"
    assert verdict(p, severity="critical", at=NOON).action == "send"
    assert verdict(p, medium="in_app", severity="warning", at=NOON).action == "send"
    dropped = verdict(p, medium="in_app", kind="anomaly", at=NOON)
    assert (dropped.action, dropped.reason) == (
        "drop",
        "anomaly alerts are not among the chosen kinds",
    )
    assert verdict(p, medium="in_app", site=3, at=NOON).action == "drop"
    off = prefs(webhook={"enabled": False})
    assert verdict(off, medium="webhook", severity="critical", at=NOON).action == "drop"


def test_quiet_hours_across_midnight_in_local_time():
    quiet = prefs(quiet_hours=NIGHT).quiet_hours
    assert quiet is not None
    # summer (CEST, UTC+2): 23:30 local is 21:30Z; the end, 07:00 local tomorrow, is 05:00Z
    assert quiet_until(quiet, ms("2026-06-10T21:30:00")) == ms("2026-06-11T05:00:00")
    # 03:00 local (01:00Z), the morning part: ends the same day at 05:00Z
    assert quiet_until(quiet, ms("2026-06-11T01:00:00")) == ms("2026-06-11T05:00:00")
    # 07:00 local sharp is no longer quiet, 21:59 local not yet
    assert quiet_until(quiet, ms("2026-06-11T05:00:00")) is None
    assert quiet_until(quiet, ms("2026-06-10T19:59:00")) is None


def test_quiet_hours_follow_the_clock_across_dst():
    quiet = prefs(quiet_hours=NIGHT).quiet_hours
    assert quiet is not None
    # 28 -> 29 March 2026, clocks go forward: 22:00 CET (21:00Z) to 07:00 CEST (05:00Z) = 8 h
    start = ms("2026-03-28T21:00:00")
    assert quiet_until(quiet, start) == ms("2026-03-29T05:00:00")
    assert quiet_until(quiet, start - 60_000) is None
    # 24 -> 25 October 2026, clocks go back: 22:00 CEST (20:00Z) to 07:00 CET (06:00Z) = 10 h
    start = ms("2026-10-24T20:00:00")
    assert quiet_until(quiet, start) == ms("2026-10-25T06:00:00")
    assert quiet_until(quiet, ms("2026-10-25T05:30:00")) == ms("2026-10-25T06:00:00")


def test_quiet_hours_within_one_day():
    quiet = prefs(quiet_hours={"start": "12:00", "end": "14:00", "time_zone": "UTC"}).quiet_hours
    assert quiet is not None
    assert quiet_until(quiet, ms("2026-06-10T13:00:00")) == ms("2026-06-10T14:00:00")
    assert quiet_until(quiet, ms("2026-06-10T23:00:00")) is None


def test_in_quiet_hours_mail_is_held_critical_goes_through_in_app_unaffected():
    night = ms("2026-06-10T23:00:00")  # 01:00 CEST
    held = verdict(prefs(quiet_hours=NIGHT), severity="warning", at=night)
    assert (held.action, held.until_ms) == ("hold", ms("2026-06-11T05:00:00"))
    assert verdict(prefs(quiet_hours=NIGHT), severity="critical", at=night).action == "send"
    strict = prefs(quiet_hours={**NIGHT, "critical_override": False})
    assert verdict(strict, severity="critical", at=night).action == "hold"
    dropping = prefs(quiet_hours={**NIGHT, "during": "drop"})
    assert verdict(dropping, medium="webhook", at=night).action == "drop"
    assert verdict(dropping, medium="in_app", at=night).action == "send"


@pytest.mark.parametrize(
    "body",
    [
        {"quiet_hours": {**NIGHT, "end": "22:00"}},
        {"quiet_hours": {**NIGHT, "start": "24:00"}},
        {"quiet_hours": {**NIGHT, "time_zone": "Mars/Olympus"}},
        {"email": {"severities": ["loud"]}},
        {"kinds": ["Threshold!"]},
        {"colour": "red"},
    ],
)
def test_bad_preferences_are_refused(body):
    with pytest.raises(ValidationError):
        Preferences.model_validate(body)
