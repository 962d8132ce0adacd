"""Energy community (CER) benchmark: a year of 15-min data of 1,000 PODs on two primary
substations, through gridpilot's pure community core (``gridpilot.analytics.community``).

Data, generated deterministically with numpy from ``--seed``: 30 % of the PODs are prosumers
with rooftop or ground PV (3 kW to 900 kW, so every TIP band occurs; North, Centre and other
areas; some with a capital grant), the rest households and small businesses with daily
profiles and noise; a few quarter-hours are missing. Zonal prices: a daily shape around
110 EUR/MWh, hourly, in the seven market zones.

Measured (wall time, one process, the data already in memory):

* hourly shared energy per substation for the year (``to_hourly`` + ``shared_energy``) beside
  a naive baseline, a pandas groupby of the same frames (hour, then substation), and a check
  that both give the same shared energy on the complete hours;
* a monthly settlement of every member for the 12 months (``settle_month``: shared energy,
  allocation, TIP per plant and hour, excess split, ARERA valorisation, the statute's
  distribution to the cent).

Targets (issue 18): shared energy for the year < 10 s; the settlements of the year < 30 s.
``--quick`` runs a small version (40 PODs, one month).

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/community.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from gridpilot.analytics.community.configuration import Member, Plant, Pod
from gridpilot.analytics.community.distribution import Statute
from gridpilot.analytics.community.incentives import DM_414_2023, CerParameters
from gridpilot.analytics.community.parameters import ParameterVersion, resolve
from gridpilot.analytics.community.settlement import month_bounds_utc, settle_month
from gridpilot.analytics.community.shared_energy import shared_energy, to_hourly

ZONES = ("NORD", "CNOR", "CSUD", "SUD", "CALA", "SICI", "SARD")
SUBSTATIONS = ("AC-NORTH-1", "AC-NORTH-2")
AREAS = ("north", "centre", "other")
ARERA_EXAMPLE = ParameterVersion(  # an example value for the benchmark, not ARERA's figure
    "arera_valorisation_eur_per_mwh", Decimal("10.57"), date(2024, 1, 1), None,
    datetime(2024, 1, 2, tzinfo=UTC),
)  # fmt: skip


def make_community(n_pods: int, seed: int) -> tuple[list[Pod], list[Member]]:
    """``n_pods`` PODs, one member each, split between two substations."""
    rng = np.random.default_rng(seed)
    pods, members = [], []
    for i in range(n_pods):
        code = f"IT001E{i:08d}"
        plant = None
        if rng.random() < 0.3:
            power = float(rng.choice([3, 6, 20, 150, 200, 350, 600, 900]))
            plant = Plant(
                power_kw=Decimal(str(power)),
                commissioned_on=date(2024, 2, 1) + pd.Timedelta(days=int(rng.integers(0, 600))),
                is_pv=True,
                area=str(rng.choice(AREAS)),
                grant_share=Decimal("0.4") if rng.random() < 0.1 else Decimal(0),
            )
        pods.append(Pod(code, f"M{i:05d}", SUBSTATIONS[i % 2], "NORD", True, plant))
        members.append(Member(f"M{i:05d}", business=bool(rng.random() < 0.2)))
    return pods, members


def make_energy(
    pods: list[Pod], start: pd.Timestamp, end: pd.Timestamp, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """15-min injected and withdrawn energy [kWh] per POD (see the module docstring)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, end, freq="15min", inclusive="left")
    local = index.tz_convert("Europe/Rome")
    hour = np.asarray(local.hour + local.minute / 60, dtype="float64")
    doy = np.asarray(local.day_of_year, dtype="float64")
    day_len = 12 + 3.5 * np.sin(2 * np.pi * (doy - 80) / 365)
    sun = np.clip(np.cos(np.pi * (hour - 12.5) / day_len), 0, None) ** 1.5
    days = (index - index[0]).days.to_numpy()
    clouds = rng.uniform(0.3, 1.0, days.max() + 1)[days]
    n = len(pods)
    kw_peak = np.array([float(p.plant.power_kw) if p.plant else 0.0 for p in pods])
    production = (sun * clouds)[:, None] * kw_peak[None, :] * 0.25 * 0.8
    base_kw = rng.uniform(0.3, 8.0, n)
    shape = 0.5 + 0.5 * np.exp(-((hour - 8) ** 2) / 3) + 0.9 * np.exp(-((hour - 20) ** 2) / 5)
    noise = rng.gamma(4.0, 0.25, (len(index), n))
    load = shape[:, None] * base_kw[None, :] * noise * 0.25
    self_used = np.minimum(production, load)
    injected = production - self_used
    withdrawn = load - self_used
    holes = rng.integers(0, len(index), (n // 10, 2))
    withdrawn[holes[:, 0], np.arange(len(holes)) * 10 % n] = np.nan
    codes = [p.code for p in pods]
    return pd.DataFrame(injected, index=index, columns=codes), pd.DataFrame(
        withdrawn, index=index, columns=codes
    )


def zonal_prices(start: pd.Timestamp, end: pd.Timestamp, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    local_hour = np.asarray(hours.tz_convert("Europe/Rome").hour, dtype="float64")
    daily = 110 + 30 * np.cos(2 * np.pi * (local_hour - 19) / 24)
    cols = {z: np.round(daily + rng.normal(0, 15, len(hours)), 2) for z in ZONES}
    return pd.DataFrame(cols, index=hours)


def baseline_shared(
    injected: pd.DataFrame, withdrawn: pd.DataFrame, pods: list[Pod]
) -> pd.DataFrame:
    """Naive: pandas groupby per hour, then per substation, then the minimum."""
    substation = pd.Series({p.code: p.substation for p in pods})
    hour_in = injected.groupby(injected.index.floor("h")).sum(min_count=4)
    hour_out = withdrawn.groupby(withdrawn.index.floor("h")).sum(min_count=4)
    by_sub_in = hour_in.T.groupby(substation).sum(min_count=1).T
    by_sub_out = hour_out.T.groupby(substation).sum(min_count=1).T
    complete = (
        hour_in.notna().T.groupby(substation).all().T
        & hour_out.notna().T.groupby(substation).all().T
    )
    return np.minimum(by_sub_in, by_sub_out).where(complete)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def run(n_pods: int, months: int, seed: int) -> dict[str, object]:
    start, _ = month_bounds_utc(2025, 1)
    _, end = month_bounds_utc(2025, months)
    pods, members = make_community(n_pods, seed)
    (injected, withdrawn), gen_s = timed(make_energy, pods, start, end, seed)
    prices = zonal_prices(start, end, seed)

    def ours():
        return shared_energy(to_hourly(injected, withdrawn, start, end), pods)

    shared, ours_s = timed(ours)
    baseline, base_s = timed(baseline_shared, injected, withdrawn, pods)
    ref = baseline.reindex(shared.hours)[list(shared.groups)].to_numpy()
    agree = bool(np.allclose(shared.shared_kwh, ref, equal_nan=True, rtol=1e-9, atol=1e-9))
    versions = (*DM_414_2023, ARERA_EXAMPLE)
    statute = Statute(
        fees_eur={"platform": Decimal("250.00")},
        reserve_share=Decimal("0.05"),
        producer_share=Decimal("0.30"),
    )
    settle_s, estimate, lines = 0.0, Decimal(0), 0
    for month in range(1, months + 1):
        first = date(2025, month, 1)
        after = date(2025 + month // 12, month % 12 + 1, 1)
        params = CerParameters.from_values(resolve(versions, first, after))
        settlement, seconds = timed(
            settle_month, year=2025, month=month, pods=pods, members=members,
            injected_kwh=injected, withdrawn_kwh=withdrawn, zonal_prices=prices,
            params=params, statute=statute,
        )  # fmt: skip
        settle_s += seconds
        estimate += settlement.gse_estimate_eur
        lines += len(settlement.distribution.lines())
        assert sum(settlement.distribution.lines().values()) == settlement.gse_estimate_eur
    return {
        "pods": n_pods,
        "months": months,
        "quarter_hours": len(injected),
        "data_generation_s": round(gen_s, 2),
        "shared_energy": {
            "gridpilot_s": round(ours_s, 2),
            "pandas_groupby_baseline_s": round(base_s, 2),
            "speedup": round(base_s / ours_s, 1),
            "same_result": agree,
            "shared_mwh": {g: round(shared.total_kwh(g) / 1000, 1) for g in shared.groups},
            "coverage_pct": {g: round(100 * c, 2) for g, c in shared.coverage.items()},
        },
        "settlements": {
            "seconds": round(settle_s, 2),
            "per_month_s": round(settle_s / months, 2),
            "distribution_lines": lines,
            "gse_estimate_eur": str(estimate),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 PODs, one month")
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12, help="months of 2025 from January")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    if args.quick:
        args.pods, args.months = 40, 1
    result = run(args.pods, args.months, args.seed)
    full = args.months == 12
    result["targets_met"] = {
        "shared_energy_year_under_10s": full and result["shared_energy"]["gridpilot_s"] < 10,  # type: ignore[index]
        "settlements_year_under_30s": full and result["settlements"]["seconds"] < 30,  # type: ignore[index]
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
