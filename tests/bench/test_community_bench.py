"""The community benchmark's code does not rot: its data are deterministic and its baseline
agrees with gridpilot, and a quick run of the whole script works (figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson

from gridpilot.analytics.community.settlement import month_bounds_utc

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from community import make_community, make_energy  # noqa: E402  (bench/ holds scripts)


def test_data_are_deterministic_and_span_two_substations():
    start, end = month_bounds_utc(2025, 2)
    pods, members = make_community(20, seed=5)
    first = make_energy(pods, start, end, seed=5)
    again = make_energy(pods, start, end, seed=5)
    assert np.array_equal(first[0].to_numpy(), again[0].to_numpy(), equal_nan=True)
    assert np.array_equal(first[1].to_numpy(), again[1].to_numpy(), equal_nan=True)
    assert {p.substation for p in pods} == {"AC-NORTH-1", "AC-NORTH-2"}
    assert len(members) == 20 and len(first[0]) == 28 * 96
    assert (first[0].fillna(0).to_numpy() >= 0).all() and np.isnan(first[1].to_numpy()).any()


def test_quick_run_of_the_script():
    done = subprocess.run(
        [sys.executable, str(BENCH / "community.py"), "--quick"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = orjson.loads(done.stdout)
    assert out["shared_energy"]["same_result"] is True
    assert out["settlements"]["distribution_lines"] > 0
