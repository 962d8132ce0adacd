"""The demand response benchmarks' code does not rot: the CBL bench's synthetic sites, placebo
days and the per-site accuracy rows (no timing or accuracy figure is asserted), one tiny run of
the whole script, and one dispatched event of ``bench/dr_counterfactual.py`` (both marked slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from dr import (  # noqa: E402  (bench/ is a directory of scripts, not a package)
    EVENT_HOURS,
    HISTORY_DAYS,
    PRESETS,
    make_site,
    placebo_days,
    site_accuracy,
)


def test_sites_are_deterministic_with_10_weeks_of_15_min_history_and_the_event_day():
    a, b = make_site(3), make_site(3)
    assert a.load_kw.equals(b.load_kw)
    assert len(a.load_kw) in range((HISTORY_DAYS + 1) * 96 - 4, (HISTORY_DAYS + 1) * 96 + 5)
    assert (a.load_kw >= 0).all() and np.isfinite(a.load_kw).all()


def test_past_events_are_curtailed_and_the_shutdown_is_low():
    site = make_site(0)
    local = site.load_kw.index.tz_convert("Europe/Rome")
    hours = (local.hour >= EVENT_HOURS[0]) & (local.hour < EVENT_HOURS[1])
    weekday = np.asarray(local.day_of_week < 5)
    usual = site.load_kw[hours & weekday].mean()
    on_events = site.load_kw[hours & np.isin(local.date, site.events)].mean()
    shutdown = site.load_kw[np.asarray(local.date) == site.shutdown].mean()
    assert on_events < usual and shutdown < 0.5 * site.load_kw.mean()


def test_at_least_20_placebo_days_per_site_none_of_them_an_event():
    for i in range(4):
        site = make_site(i)
        days = placebo_days(site)
        assert len(days) >= 20
        assert not set(days) & {*site.events, site.shutdown}


def test_every_method_gets_an_accuracy_row_without_the_peer():
    rows, state = site_accuracy(make_site(2), with_eemeter=False)
    methods = {r["method"] for r in rows}
    assert set(PRESETS) | {"weather_regression"} <= methods
    assert state == "not run"
    for row in rows:
        assert row["days"] + row["failed"] >= 20
        assert "cv1h" in row and "bias1h" in row


@pytest.mark.slow
def test_quick_run_of_the_whole_script(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH / "dr.py"), "--quick", "--eemeter-sites", "0"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for text in ("1. CBL time", "2. Placebo days", "caiso_10in10", "weather_regression"):
        assert text in done.stdout, done.stdout


@pytest.mark.slow
def test_one_dispatched_event_against_the_truth(tmp_path):
    """``bench/dr_counterfactual.py``: one event, 10 days of history, SQLite."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "dr_counterfactual.py"), "--events", "1",
         "--history-days", "10"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SQLite caiso_10in10: 1 events 14:00-16:00 (Rome), target 20 kW" in done.stdout, (
        done.stdout
    )
    assert "| 2026-09-21 | " in done.stdout and "within +-10 %" in done.stdout
