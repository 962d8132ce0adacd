"""Dashboard figures: local days across DST, chart points, last-seen labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridpilot.core.timestamps import local_midnight_ms
from gridpilot.web.charts import points
from gridpilot.web.figures import since_label

#: 2026-03-29T12:00:00Z: Europe/Rome moved to CEST (UTC+2) at 01:00 UTC that day.
DST_DAY_NOON = 1_774_785_600_000


def test_local_midnight_follows_the_sites_timezone_across_dst():
    rome = local_midnight_ms("Europe/Rome", DST_DAY_NOON)
    assert pd.Timestamp(rome, unit="ms", tz="UTC").isoformat() == "2026-03-28T23:00:00+00:00"
    assert local_midnight_ms("UTC", DST_DAY_NOON) == DST_DAY_NOON - 12 * 3_600_000


def test_chart_points_are_epoch_milliseconds_with_gaps_as_none():
    index = pd.date_range("2026-01-05", periods=3, freq="1h", tz="UTC")
    values = pd.Series([1.5, np.nan, 2.0], index=index)
    assert points(values) == [
        [1_767_571_200_000, 1.5],
        [1_767_574_800_000, None],
        [1_767_578_400_000, 2.0],
    ]


def test_last_seen_labels():
    now = 1_767_571_200_000
    assert since_label(None, now) == "never"
    assert since_label(now - 12_000, now) == "12 s ago"
    assert since_label(now - 5 * 60_000, now) == "5 min ago"
    assert since_label(now - 3 * 3_600_000, now) == "3 h ago"
    assert since_label(now - 2 * 86_400_000, now) == "2 d ago"


def test_log_in_only_redirects_to_local_pages():
    from gridpilot.web.pages.login import safe_target

    assert safe_target("/sites/3") == "/sites/3"
    for outside in ("https://evil.example", "//evil.example", "/\\evil.example", "/a\\b", "/\tx"):
        assert safe_target(outside) == "/"
