"""Flexibility benchmark: gridpilot's day-ahead optimiser beside EMHASS and two references.

1. EMHASS's published day-ahead case (``bench/data/emhass_opt_res_latest.csv``, MIT, see
   ``bench/data/README.md``): 48 steps of 30 min, PV, load, import and export prices, two
   on/off deferrable loads (3 kW for 5 h, 0.75 kW for 8 h, anywhere in the day), grid limit
   9 kW both ways, PV curtailment, no battery. EMHASS's plan costs minus the sum of its
   ``cost_profit`` column; ours is solved on the same inputs and priced the same way (import x
   import price - export x export price, x 0.5 h). Target: ours <= EMHASS's + 0.1 %.
2. A fleet of synthetic sites, 96 steps of 15 min each: PV, a battery, an EV (minimum power),
   two deferrable loads (one on/off, one in a single block with a minimum run), a contract
   limit, an export limit and a demand charge above an incumbent peak. Wall time of
   ``optimise`` (model building included) per site and for all. Targets: one site < 0.5 s,
   100 sites < 30 s.
3. A simulated year of a PV + battery site: 365 days, each solved day-ahead (perfect
   forecasts) on a synthetic PV, load and Italian-style F1/F2/F3 time-of-use series generated
   from a seed, with a monthly demand charge (each day's incumbent is the month's peak so far),
   the state of charge carried from day to day. Costs of the optimised plans against no
   battery and the rule-based self-consumption controller (each with its own SOC and its own
   monthly peaks), and the largest power-balance residual of any step.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/optimise.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gridpilot.analytics.flex import (
    Battery,
    DeferrableLoad,
    EVSession,
    FlexProblem,
    Flows,
    SiteLimits,
    cost_of,
    optimise,
)
from gridpilot.analytics.flex.fallback import fallback_flows
from gridpilot.analytics.flex.rule_based import rule_based_flows

EMHASS_CSV = Path(__file__).resolve().parent / "data" / "emhass_opt_res_latest.csv"
DAY, STEP_H = 96, 0.25


def emhass_problem(frame: pd.DataFrame) -> FlexProblem:
    """EMHASS's case as a gridpilot problem (W -> kW; see the module docstring)."""
    return FlexProblem(
        step_h=0.5,
        load_kw=frame["P_Load"].to_numpy() / 1000,
        pv_kw=frame["P_PV"].to_numpy() / 1000,
        import_price_eur_per_kwh=frame["unit_load_cost"].to_numpy(),
        export_price_eur_per_kwh=frame["unit_prod_price"].to_numpy(),
        deferrable_loads=[
            DeferrableLoad("deferrable0", energy_kwh=15.0, power_max_kw=3.0, power_min_kw=3.0),
            DeferrableLoad("deferrable1", energy_kwh=6.0, power_max_kw=0.75, power_min_kw=0.75),
        ],
        limits=SiteLimits(import_max_kw=9.0, export_max_kw=9.0),
    )


def emhass_case(repeats: int) -> dict[str, float]:
    frame = pd.read_csv(EMHASS_CSV)
    problem = emhass_problem(frame)
    times, cpu, plan = [], [], None
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        plan = optimise(problem)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    assert plan is not None
    return {
        "emhass_eur": -float(frame["cost_profit"].sum()),
        "ours_eur": plan.cost.total_eur,
        "seconds": statistics.median(times),
        "cpu_s": statistics.median(cpu),
        "residual_kw": float(np.abs(plan.flows.balance_residual_kw(problem)).max()),
    }


def fleet_site(seed: int) -> FlexProblem:
    """A synthetic commercial site with every kind of resource (see the module docstring)."""
    rng = np.random.default_rng(seed)
    hour = np.arange(DAY) * STEP_H
    scale = rng.uniform(20, 60)
    load = scale * (0.5 + 0.5 * ((hour >= 7) & (hour < 19)) + 0.15 * rng.standard_normal(DAY))
    load = np.maximum(load, 0.1 * scale)
    pv = rng.uniform(0.5, 1.5) * scale * np.clip(np.sin(np.pi * (hour - 6) / 13), 0, None)
    pv *= rng.uniform(0.6, 1.0, DAY)
    price = np.where(
        (hour >= 8) & (hour < 19), 0.32, np.where((hour >= 7) & (hour < 23), 0.24, 0.16)
    )
    capacity = float(rng.uniform(1, 3) * scale)
    arrival = int(rng.integers(30, 40))
    return FlexProblem(
        step_h=STEP_H,
        load_kw=load,
        pv_kw=pv,
        import_price_eur_per_kwh=price * rng.uniform(0.9, 1.1, DAY),
        export_price_eur_per_kwh=0.06,
        batteries=[
            Battery(
                "bess",
                capacity,
                capacity / 2,
                capacity / 2,
                rng.uniform(0.2, 0.8),
                wear_cost_eur_per_kwh=0.02,
            )
        ],
        ev_sessions=[
            EVSession(
                "ev",
                arrival,
                arrival + int(rng.integers(24, 40)),
                float(rng.uniform(10, 40)),
                11.0,
                power_min_kw=1.4,
            )
        ],
        deferrable_loads=[
            DeferrableLoad(
                "pump",
                float(rng.choice([8.0, 12.0, 16.0])),
                4.0,
                4.0,
                window_start_step=20,
                window_end_step=84,
            ),
            DeferrableLoad(
                "oven", float(rng.uniform(6, 12)), 6.0, 3.0, interruptible=False, min_run_steps=4
            ),
        ],
        limits=SiteLimits(import_max_kw=float(load.max() + 40), export_max_kw=scale),
        demand_charge_eur_per_kw=8.0,
        incumbent_peak_kw=float(np.quantile(load, 0.9)),
    )


def fleet(n_sites: int) -> dict[str, float]:
    problems = [fleet_site(seed) for seed in range(n_sites)]
    times, cpu, statuses, residual = [], [], [], 0.0
    started, cpu_started = time.perf_counter(), time.process_time()
    for problem in problems:
        t0, c0 = time.perf_counter(), time.process_time()
        plan = optimise(problem)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        statuses.append(plan.status)
        residual = max(residual, float(np.abs(plan.flows.balance_residual_kw(problem)).max()))
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "sites": n_sites,
        "total_s": total,
        "total_cpu_s": total_cpu,
        "median_cpu_s": statistics.median(cpu),
        "p95_cpu_s": float(np.quantile(cpu, 0.95)),
        "median_s": statistics.median(times),
        "p95_s": float(np.quantile(times, 0.95)),
        "max_s": max(times),
        "optimal": statuses.count("optimal"),
        "residual_kw": residual,
    }


def year_series(days: int, seed: int = 2026) -> dict[str, np.ndarray]:
    """Synthetic 15-min PV [kW], load [kW] and F1/F2/F3 import price [EUR/kWh] of a year."""
    rng = np.random.default_rng(seed)
    steps = days * DAY
    day = np.arange(steps) // DAY
    hour = (np.arange(steps) % DAY) * STEP_H
    weekday = (day + 3) % 7  # 2026-01-01 is a Thursday; 5, 6 = Saturday, Sunday
    length_h = 12 + 3.5 * np.sin(2 * np.pi * (day - 80) / 365)
    rise = 12.5 - length_h / 2
    sun = np.clip(np.sin(np.pi * (hour - rise) / length_h), 0, None) ** 1.2
    cloud_day = rng.beta(4, 1.5, days)[day]
    cloud_step = np.clip(cloud_day + 0.1 * rng.standard_normal(steps), 0.05, 1.0)
    pv = 60.0 * (0.75 + 0.25 * np.sin(2 * np.pi * (day - 80) / 365)) * sun * cloud_step
    open_ = (weekday < 5) & (hour >= 7.5) & (hour < 18.5)
    load = 18 + 22 * open_ + 6 * np.exp(-((hour - 20) ** 2) / 3) + 3 * rng.standard_normal(steps)
    load = np.maximum(load, 5.0)
    f1 = (weekday < 5) & (hour >= 8) & (hour < 19)
    f2 = ((weekday < 5) & (((hour >= 7) & (hour < 8)) | ((hour >= 19) & (hour < 23)))) | (
        (weekday == 5) & (hour >= 7) & (hour < 23)
    )
    price = np.where(f1, 0.32, np.where(f2, 0.25, 0.17))
    return {"pv_kw": pv, "load_kw": load, "price": price, "month": (day * 12) // 365}


YEAR_BATTERY = dict(
    capacity_kwh=100.0, charge_max_kw=50.0, discharge_max_kw=50.0, wear_cost_eur_per_kwh=0.02
)
EXPORT_EUR_PER_KWH, DEMAND_EUR_PER_KW_MONTH = 0.06, 8.0


def _day_problem(
    series: dict[str, np.ndarray], d: int, soc_frac: float, peak: float
) -> FlexProblem:
    rows = slice(d * DAY, (d + 1) * DAY)
    return FlexProblem(
        STEP_H,
        series["load_kw"][rows],
        series["pv_kw"][rows],
        series["price"][rows],
        EXPORT_EUR_PER_KWH,
        batteries=[Battery("bess", soc_start_frac=soc_frac, **YEAR_BATTERY)],
        demand_charge_eur_per_kw=DEMAND_EUR_PER_KW_MONTH,
        incumbent_peak_kw=peak,
    )


def year(days: int) -> dict[str, object]:
    """Each controller runs the year with its own SOC and its own monthly peaks."""
    series = year_series(days)
    statuses: list[str] = []

    def optimised(problem: FlexProblem) -> Flows:
        plan = optimise(problem)
        statuses.append(plan.status)
        return plan.flows

    controllers = {
        "optimised": optimised,
        "no_battery": fallback_flows,
        "rule_based": rule_based_flows,
    }
    totals = {name: np.zeros(3) for name in controllers}
    soc = dict.fromkeys(controllers, 0.5)
    peak = dict.fromkeys(controllers, 0.0)
    residual, solve_s = 0.0, 0.0
    for d in range(days):
        month_start = d == 0 or series["month"][d * DAY] != series["month"][(d - 1) * DAY]
        for name, controller in controllers.items():
            if month_start:
                peak[name] = 0.0
            problem = _day_problem(series, d, soc[name], peak[name])
            t0 = time.process_time()
            flows: Flows = controller(problem)
            if name == "optimised":
                solve_s += time.process_time() - t0
            cost = cost_of(problem, flows)
            totals[name] += [cost.energy_eur, cost.demand_charge_eur, cost.wear_eur]
            peak[name] = max(peak[name], float(flows.import_kw.max()))
            soc[name] = float(np.clip(flows.batteries["bess"].soc_kwh[-1] / 100.0, 0, 1))
            residual = max(residual, float(np.abs(flows.balance_residual_kw(problem)).max()))
    return {
        "days": days,
        "totals": totals,
        "residual_kw": residual,
        "solve_cpu_s": solve_s,
        "optimal_days": statuses.count("optimal"),
    }


def _row(cells: list[str]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, (40, 52, 28), strict=False)).rstrip()


def _ms(wall_s: float, cpu_s: float) -> str:
    return f"{wall_s * 1000:.0f} ms ({cpu_s * 1000:.0f} ms CPU)"


def report(em: dict[str, float], fl: dict[str, float], yr: dict[str, object]) -> list[str]:
    """The compact table of the three parts (see the module docstring)."""
    gap_pct = 100 * (em["ours_eur"] - em["emhass_eur"]) / abs(em["emhass_eur"])
    per_site = f"{_ms(fl['median_s'], fl['median_cpu_s'])}; p95 {_ms(fl['p95_s'], fl['p95_cpu_s'])}"
    sites = f"{fl['total_s']:.1f} s ({fl['total_cpu_s']:.1f} s CPU), {fl['optimal']:.0f} optimal"
    lines = [
        _row(["measurement", "gridpilot", "peer / target"]),
        _row(
            [
                "EMHASS case: cost [EUR]",
                f"{em['ours_eur']:.4f} ({gap_pct:+.4f} %)",
                f"EMHASS {em['emhass_eur']:.4f}; <= +0.1 %",
            ]
        ),
        _row(["EMHASS case: solve (median)", _ms(em["seconds"], em["cpu_s"]), "EMHASS: not given"]),
        _row(["fleet: one 96-step site (median)", per_site, "< 500 ms"]),
        _row([f"fleet: {fl['sites']:.0f} sites", sites, f"< {0.3 * fl['sites']:.0f} s"]),
    ]
    totals: dict[str, np.ndarray] = yr["totals"]  # type: ignore[assignment]
    for name, parts in totals.items():
        split = f"energy {parts[0]:,.0f} + demand {parts[1]:,.0f} + wear {parts[2]:,.0f}"
        lines.append(
            _row([f"year ({yr['days']} d): {name} [EUR]", f"{parts.sum():,.0f} = {split}"])
        )
    optimised = totals["optimised"].sum()
    for ref in ("no_battery", "rule_based"):
        saved = totals[ref].sum() - optimised
        pct = 100 * saved / totals[ref].sum()
        lines.append(_row([f"year: saving vs {ref}", f"{saved:,.0f} EUR ({pct:.1f} %)"]))
    days = f"{yr['solve_cpu_s']:.1f} s, {yr['optimal_days']} of {yr['days']} days optimal"
    lines.append(_row(["year: optimiser CPU time", days]))
    residual = max(em["residual_kw"], fl["residual_kw"], float(yr["residual_kw"]))  # type: ignore[arg-type]
    lines.append(_row(["max power-balance residual", f"{residual * 1000:.1e} W", "< 1 W"]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 sites, 14 days")
    parser.add_argument("--sites", type=int, default=100, help="fleet sites (default 100)")
    parser.add_argument("--days", type=int, default=365, help="simulated days (default 365)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sites, args.days = min(args.sites, 10), min(args.days, 14)
    em = emhass_case(repeats=3 if args.quick else 10)
    fl = fleet(args.sites)
    yr = year(args.days)
    print("\n".join(report(em, fl, yr)))
    print("Times: wall clock, and in brackets the CPU time of this process (HiGHS runs on one")
    print("thread): on a shared machine the CPU time is the figure to compare.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
