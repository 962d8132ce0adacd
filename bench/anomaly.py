"""Anomaly detectors on injected faults: precision, recall and false flags per clean week.

Synthetic hourly data, 7-day windows (the scheduled scan's window), three metrics of a
compressor following a daily load cycle (power [kW], flow [m3/h], pressure [bar]) with AR(1)
noise (phi 0.3; sigma = the power noise's standard deviation, 1.5 kW). Each window holds one
fault on ``power_kw`` (or none), placed on day 3:

    spike     three single hours at +6 sigma
    step      +3 sigma held 24 h
    stuck     the value frozen for 24 h (the daily cycle goes on without it)
    dropout   the value reads 0 for 6 h
    drift     a ramp from 0 to +5 sigma over 48 h
    idle_weekend       no fault; the asset idles on Saturday and Sunday (a factory closed at
                       weekends: 3 kW, 10 m3/h, 7.5 bar, a tenth of the noise): a clean week
    idle_weekend_step  the step above in such a week

Detectors: Isolation Forest before the calibration (``calibrated=False``: raw features, floor
0.6 and the 1 % quantile), after it (profile residuals, robust z of the scores >= 5), the
level-shift test (``anomaly_shift``) and their union (what a scan reports). Per fault: precision
= flagged fault hours / flagged hours, recall = flagged fault hours / fault hours; per clean
window: flagged hours (the false-positive rate). Means over ``--seeds`` seeds.

    .venv/bin/python bench/anomaly.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.analytics.anomaly import isolation_findings
from gridpilot.analytics.anomaly_shift import shift_findings

HOURS = 7 * 24
SIGMA = 1.5
FAULT_START = 3 * 24 + 8
FAULTS = (
    "clean",
    "spike",
    "step",
    "stuck",
    "dropout",
    "drift",
    "idle_weekend",
    "idle_weekend_step",
)
#: Windows without a fault: their flags are false positives.
CLEAN = ("clean", "idle_weekend")


def ar1(rng: np.random.Generator, n: int, sd: float, phi: float = 0.3) -> np.ndarray:
    """AR(1) noise with marginal standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    for k in range(1, n):
        out[k] = phi * out[k - 1] + shocks[k]
    return out


def window(fault: str, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """One week of hourly data with ``fault`` injected; the mask of the faulty hours."""
    rng = np.random.default_rng(seed)
    hours = np.arange(HOURS)
    load = 0.5 + 0.4 * np.sin(hours / 24 * 2 * np.pi)
    power = 20 + 50 * load + ar1(rng, HOURS, SIGMA)
    flow = 100 + 400 * load + ar1(rng, HOURS, 10.0)
    pressure = 7.2 - 0.3 * load + ar1(rng, HOURS, 0.03)
    truth = np.zeros(HOURS, dtype=bool)
    if fault.startswith("idle_weekend"):
        weekend = hours >= 5 * 24  # the window starts on a Monday
        idle = weekend.sum()
        power[weekend] = 3.0 + ar1(rng, idle, SIGMA / 10)
        flow[weekend] = 10.0 + ar1(rng, idle, 1.0)
        pressure[weekend] = 7.5 + ar1(rng, idle, 0.003)
        fault = fault.removeprefix("idle_weekend").removeprefix("_") or "clean"
    at = FAULT_START
    if fault == "spike":
        for k in (at, at + 30, at + 61):
            power[k] += 6 * SIGMA
            truth[k] = True
    elif fault == "step":
        power[at : at + 24] += 3 * SIGMA
        truth[at : at + 24] = True
    elif fault == "stuck":
        power[at : at + 24] = power[at]
        truth[at : at + 24] = True
    elif fault == "dropout":
        power[at : at + 6] = 0.0
        truth[at : at + 6] = True
    elif fault == "drift":
        power[at : at + 48] += np.linspace(0, 5 * SIGMA, 48)
        truth[at : at + 48] = True
    index = pd.date_range("2026-01-05", periods=HOURS, freq="h", tz="UTC")
    frame = pd.DataFrame({"power_kw": power, "flow_m3h": flow, "pressure_bar": pressure}, index)
    return frame, truth


DETECTORS: dict[str, Callable[[pd.DataFrame], set[pd.Timestamp]]] = {
    "isolation_forest_old": lambda f: {x.ts for x in isolation_findings(f, calibrated=False)},
    "isolation_forest": lambda f: {x.ts for x in isolation_findings(f)},
    "level_shift": lambda f: {x.ts for x in shift_findings(f)},
}


def run(seeds: int) -> dict[str, Any]:
    totals: dict[str, dict[str, list[float]]] = {}
    for fault in FAULTS:
        for seed in range(seeds):
            frame, truth = window(fault, 1000 * FAULTS.index(fault) + seed)
            flags = {name: detect(frame) for name, detect in DETECTORS.items()}
            flags["new_union"] = flags["isolation_forest"] | flags["level_shift"]
            for name, stamps in flags.items():
                flagged = np.asarray(frame.index.isin(list(stamps)))
                row = totals.setdefault(name, {}).setdefault(fault, [0.0, 0.0, 0.0, 0.0])
                row[0] += float(flagged.sum())
                row[1] += float((flagged & truth).sum())
                row[2] += float(truth.sum())
                row[3] += float((flagged & truth).any()) if truth.any() else 0.0
    report: dict[str, Any] = {}
    for name, per_fault in totals.items():
        report[name] = {}
        for fault, (flagged, hits, faulty, events) in per_fault.items():
            if fault in CLEAN:
                report[name][fault] = {"flags_per_clean_week": round(flagged / seeds, 3)}
                continue
            report[name][fault] = {
                "precision": round(hits / flagged, 3) if flagged else None,
                "recall": round(hits / faulty, 3),
                "event_recall": round(events / seeds, 3),
            }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="windows per fault (default 20)")
    args = parser.parse_args(argv)
    report = {"seeds": args.seeds, "hours_per_window": HOURS, "detectors": run(args.seeds)}
    json.dump(report, sys.stdout, indent=2)
    print()
    union = report["detectors"]["new_union"]
    clean = max(union[name]["flags_per_clean_week"] for name in CLEAN)
    return 0 if clean < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
