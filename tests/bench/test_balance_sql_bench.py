"""The balance SQL benchmark's code does not rot: its readings (no timing here), and one tiny
run against a temporary SQLite file, which also checks that the current and the original
statements give the same rows (marked slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import balance_sql  # noqa: E402  (bench/ is a directory of scripts, not a package)
from balance_sql_data import Q_MS, profiles, series_rows  # noqa: E402


def test_profiles_are_deterministic_and_positive():
    kw = profiles(5, 96)
    assert kw.shape == (5, 96) and (kw > 0).all()
    assert np.array_equal(kw, profiles(5, 96))


def test_registers_integrate_power_and_the_main_meter_sums_the_meters():
    kw = profiles(8, 4)
    metric = {"power_kw": 1, "energy_kwh": 2}
    rows = series_rows(tuple(range(10, 18)), 1, metric, 0, kw)
    main_power = [v for a, m, _, v in rows if a == 1 and m == 1]
    assert main_power == pytest.approx(kw.sum(axis=0).tolist())
    register = [v for a, m, _, v in rows if a == 10 and m == 2]  # meter 0: every fourth has one
    assert np.diff(register) == pytest.approx((kw[0, 1:] * 0.25).tolist())
    assert not [r for r in rows if r[0] == 11 and r[1] == 2]
    assert {t for _, _, t, _ in rows} == {0, Q_MS, 2 * Q_MS, 3 * Q_MS}


@pytest.mark.slow
def test_a_tiny_run_on_sqlite_gives_equal_rows(capsys):
    assert (
        balance_sql.main(
            [
                "--meters",
                "8",
                "--days",
                "1",
                "--runs",
                "1",
                "--ref-runs",
                "1",
                "--no-pg",
                "--sqlite",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("rows equal") == 6 and "30 d new" in out
