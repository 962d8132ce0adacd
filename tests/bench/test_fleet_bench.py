"""The fleet benchmark's code does not rot: its fleet, readings and bodies (no timing here),
and one tiny run of the whole script against the embedded SQLite default (marked slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from fleet_data import (  # noqa: E402  (bench/ is a directory of scripts, not a package)
    MINUTE_MS,
    QUARTER_MS,
    FleetSize,
    ReadingModel,
    Timeline,
    plan_fleet,
)

TINY = FleetSize(sites=4, assets_per_site=10, big_site_meters=8, days=0.5)


def _planned() -> list:
    sites = plan_fleet(TINY)
    next_id = iter(range(1, 10_000))
    for site in sites:
        for asset in site.assets:
            asset.asset_id = next(next_id)
    return sites


def test_plan_has_the_big_site_first_and_a_mix_of_roles():
    sites = plan_fleet(TINY)
    big, ordinary = sites[0], sites[1:]
    assert len(ordinary) == TINY.sites
    assert big.main.role == "grid_connection"
    assert [a.role for a in big.assets[1:]] == ["consumer"] * TINY.big_site_meters
    assert all(a.sub_meter for a in big.assets[1:])
    for site in ordinary:
        assert len(site.assets) == TINY.assets_per_site
        assert site.main.role == "grid_connection"
    roles = {a.role for s in ordinary for a in s.assets}
    assert roles == {"grid_connection", "producer", "storage", "prosumer", "consumer"}


def test_main_meters_read_what_is_behind_them_and_registers_integrate():
    sites = _planned()
    model = ReadingModel(sites)
    noon = 1_780_000_000_000 // 86_400_000 * 86_400_000 + 12 * 3_600_000
    first = model.readings_at(noon, QUARTER_MS)
    second = model.readings_at(noon + QUARTER_MS, QUARTER_MS)
    assert len(first) == model.per_instant()
    power = {r["asset"]: r["value"] for r in first if r["metric"] == "power_kw"}
    for site in sites:
        behind = [power[a.asset_id] for a in site.assets[1:] if a.role != "prosumer"]
        signs = [-1 if a.role == "producer" else 1 for a in site.assets[1:] if a.role != "prosumer"]
        expected = sum(s * v for s, v in zip(signs, behind, strict=True))
        assert power[site.main.asset_id] == pytest.approx(expected, abs=0.01)
    registers = [(r["asset"], r["metric"], r["value"]) for r in first if "kwh" in r["metric"]]
    later = {(r["asset"], r["metric"]): r["value"] for r in second if "kwh" in r["metric"]}
    assert registers and all(later[(a, m)] >= v for a, m, v in registers)


def test_bodies_carry_every_reading_of_the_timeline_once():
    model = ReadingModel(_planned())
    timeline = Timeline.ending(1_780_000_123_456, TINY.days, live_minutes=30)
    assert timeline.start_ms % QUARTER_MS == 0 and timeline.live_ms % QUARTER_MS == 0
    assert timeline.end_ms - timeline.live_ms >= 30 * MINUTE_MS
    bodies = list(model.bodies(timeline.history(), QUARTER_MS, batch=500))
    readings = [r for body in bodies for r in orjson.loads(body)["readings"]]
    assert len(readings) == model.per_instant() * len(timeline.history())
    assert all(len(orjson.loads(body)["readings"]) <= 500 for body in bodies)
    keys = {(r["asset"], r["metric"], r["ts"]) for r in readings}
    assert len(keys) == len(readings)


@pytest.mark.slow
def test_tiny_run_on_sqlite_end_to_end(tmp_path):
    """The whole script, tiny, on SQLite: provisioning, history, live data, every measurement
    and the dashboard log-in run without a failure (figures are not checked)."""
    args = ["--sites", "2", "--assets-per-site", "6", "--big-site-meters", "5", "--days", "0.25"]
    args += ["--skip-pg", "--runs", "1", "--clients", "2", "--per-client", "2"]
    env = os.environ | {"COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, str(BENCH / "fleet.py"), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for row in ("provisioning", "/current of the big site", "/kpis", "/balance", "overview page"):
        assert row in out, out
    assert "log-in failed" not in out and " 0 rejected" in out
