"""The optimisation benchmark's code does not rot, and EMHASS's published case is matched
(costs only; no timing is asserted here)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from optimise import emhass_case, fleet, main, year, year_series  # noqa: E402  (bench/ is scripts)


def test_our_plan_costs_no_more_than_emhass_on_its_published_case():
    result = emhass_case(repeats=1)
    assert result["emhass_eur"] > 0
    assert result["ours_eur"] <= result["emhass_eur"] * 1.001
    assert result["residual_kw"] < 1e-3


def test_fleet_sites_are_solved_with_every_resource():
    result = fleet(2)
    assert result["optimal"] == 2 and result["residual_kw"] < 1e-3


def test_year_series_are_deterministic_and_plausible():
    first, second = year_series(3), year_series(3)
    for name in ("pv_kw", "load_kw", "price"):
        np.testing.assert_array_equal(first[name], second[name])
    assert first["pv_kw"].min() == 0.0 and first["pv_kw"].max() > 5.0  # nights and days
    assert set(np.unique(first["price"])) <= {0.17, 0.25, 0.32}


def test_simulated_days_carry_costs_for_every_controller():
    result = year(2)
    totals = result["totals"]
    assert set(totals) == {"optimised", "no_battery", "rule_based"}
    assert totals["optimised"].sum() <= totals["no_battery"].sum()
    assert result["optimal_days"] == 2 and result["residual_kw"] < 1e-3


def test_quick_run_prints_the_table(capsys):
    assert main(["--quick", "--sites", "1", "--days", "1"]) == 0
    out = capsys.readouterr().out
    for row in ("EMHASS case: cost", "fleet: 1 sites", "year: saving vs rule_based", "residual"):
        assert row in out, out
