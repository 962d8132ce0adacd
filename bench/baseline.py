"""Baseline and anomaly benchmark: fit time, and detector precision/recall on simulated faults.

1. **Fit time** (issue 7 target: a baseline on 90 days of hourly data fits in under 2 s):
   ``fit_baseline`` (statsmodels OLS, verdicts) on 2,160 hourly rows with three drivers, the
   median of ``--repeats`` runs; plus backward elimination over five candidate drivers; and
   end to end, ``POST /api/v1/baselines`` (hourly, production + HDD drivers) against an
   in-process app on a temporary SQLite database holding 90 days of hourly readings (loading
   the rollups, building the frame, fitting, storing the version).
2. **Detectors on the simulator's anomalies** (``gridpilot.sim``, when importable), 15-min
   buckets from the 1 s/10 s device models, faults from the simulator's own spontaneous
   anomalies (10 %/day, ramping over 1-4 h, held up to 2 h) plus a few longer injected ones:

   * Isolation Forest on a compressor's power/pressure/flow (fault: ``leak``);
   * Mann-Kendall trend test on the compressor's pressure over 24 h windows (12 h stride),
     with slow leaks injected (growing over 2 days to severity 0.5, i.e. 0.75 bar);
   * residual z-score of an HVAC's hourly energy against a baseline fitted on the first half
     (drivers: production intensity, degree-hours above 16 degC and below 12 degC; fault:
     ``fouling``, COP -15 % at full severity, injected every 4 days of the scored second half,
     growing over 6 h and held 12 h, besides the spontaneous ones).

   Ground truth: a bucket is faulty where the anomaly level is >= 0.3; a trend window is
   faulty where the level grows by >= 0.15 from its first to its last bucket (a fault still
   developing; the trend test is not meant for faults that come and go within the window).
   Precision = flagged faulty / flagged;
   recall per bucket/window and per fault event (an event is found when one of its buckets is
   flagged).

    .venv/bin/python bench/baseline.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.analytics.anomaly import isolation_findings, residual_zscores
from gridpilot.analytics.anomaly_trend import mann_kendall, trend_severity
from gridpilot.analytics.baseline import backward_elimination, fit_baseline

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
STEP_MS = 900_000
FAULT_LEVEL = 0.3
TREND_GROWTH = 0.15
T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC, a Monday


def hourly_frame(days: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 24
    production = rng.uniform(0, 100, n)
    hdd = rng.uniform(0, 1, n)
    hours = rng.uniform(0, 1, n)
    energy = 40 + 1.8 * production + 12 * hdd + 20 * hours + rng.normal(0, 6, n)
    index = pd.date_range("2026-01-05", periods=n, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "energy_kwh": energy,
            "production_count": production,
            "hdd": hdd,
            "operating_hours": hours,
            "noise_a": rng.normal(size=n),
            "noise_b": rng.normal(size=n),
        },
        index=index,
    )


def fit_time(repeats: int) -> dict[str, Any]:
    frame = hourly_frame(90)
    drivers = ["production_count", "hdd", "operating_hours"]
    fit_baseline(frame, energy="energy_kwh", drivers=drivers, granularity="hour")  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fit = fit_baseline(frame, energy="energy_kwh", drivers=drivers, granularity="hour")
        times.append(time.perf_counter() - began)
    began = time.perf_counter()
    kept = backward_elimination(
        frame, energy="energy_kwh", drivers=[*drivers, "noise_a", "noise_b"], granularity="hour"
    )
    selection = time.perf_counter() - began
    return {
        "rows": len(frame),
        "fit_s_median": statistics.median(times),
        "fit_s_max": max(times),
        "target_s": 2.0,
        "meets_target": max(times) < 2.0,
        "r2": round(fit.r2, 4),
        "valid": fit.valid,
        "backward_elimination_s": selection,
        "kept": kept,
    }


async def api_fit_time(repeats: int) -> dict[str, Any]:
    """Wall time of ``POST /api/v1/baselines`` over 90 days of hourly data (SQLite)."""
    import tempfile
    from pathlib import Path

    import httpx

    from gridpilot.api.app import create_app
    from gridpilot.auth.dependencies import token_config
    from gridpilot.auth.models import User
    from gridpilot.auth.passwords import hash_password
    from gridpilot.auth.tokens import encode_access_token
    from gridpilot.core.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            data_dir=Path(tmp),
            jwt_secret="bench-" + "x" * 40,
            log_json=False,
            retention_raw_days=None,
            web_enabled=False,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with app.state.sessions() as session, session.begin():
                user = User(
                    username="bench",
                    password_hash=hash_password("x" * 12),
                    role="administrator",
                    disabled=False,
                    site_restricted=False,
                )
                session.add(user)
                await session.flush()
                user_id = user.id
            token = encode_access_token(
                token_config(settings),
                f"user:{user_id}",
                {"role": "administrator", "name": "bench"},
            )
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                site = (await http.post("/api/v1/sites", json={"name": "B", "timezone": "UTC"},
                                        headers=headers)).json()  # fmt: skip
                ids = []
                for name in ("machine", "weather"):
                    asset = await http.post(
                        "/api/v1/assets",
                        json={"site_id": site["id"], "name": name, "kind": "machine"},
                        headers=headers,
                    )
                    ids.append(asset.json()["id"])
                frame = hourly_frame(90)
                start = T0 - 200 * DAY_MS
                readings, register, counter = [], 0.0, 0.0
                for i, row in enumerate(frame.itertuples()):
                    ts = start + i * HOUR_MS + HOUR_MS // 2
                    register += row.energy_kwh
                    counter += round(row.production_count)
                    readings += [
                        {"asset": ids[0], "metric": "energy_kwh", "ts": ts, "value": register},
                        {"asset": ids[0], "metric": "production_count", "ts": ts, "value": counter},
                        {"asset": ids[1], "metric": "temperature_c", "ts": ts,
                         "value": 15.5 - 24 * row.hdd},
                    ]  # fmt: skip
                stored = await http.post("/api/v1/telemetry", json=readings, headers=headers)
                assert stored.status_code < 300, stored.text
                await app.state.telemetry.flush()
                body = {
                    "name": "bench",
                    "asset_id": ids[0],
                    "granularity": "hour",
                    "drivers": [
                        {"metric": "production_count"},
                        {"kind": "hdd", "asset_id": ids[1]},
                    ],
                    "start": start,
                    "end": start + 90 * DAY_MS,
                }
                times, answer = [], {}
                for _ in range(repeats):
                    began = time.perf_counter()
                    response = await http.post("/api/v1/baselines", json=body, headers=headers)
                    times.append(time.perf_counter() - began)
                    assert response.status_code == 201, response.text
                    answer = response.json()["current"]
    return {
        "rows": answer["n"],
        "api_fit_s_median": statistics.median(times),
        "api_fit_s_max": max(times),
        "meets_target": max(times) < 2.0,
        "r2": round(answer["r2"], 4),
    }


def scores(flagged: np.ndarray, truth: np.ndarray, events: list[np.ndarray]) -> dict[str, Any]:
    true_positive = int(np.sum(flagged & truth))
    found_events = sum(bool(np.any(flagged[e])) for e in events)
    return {
        "flagged": int(flagged.sum()),
        "faulty": int(truth.sum()),
        "precision": round(true_positive / flagged.sum(), 3) if flagged.any() else None,
        "recall": round(true_positive / truth.sum(), 3) if truth.any() else None,
        "events": len(events),
        "event_recall": round(found_events / len(events), 3) if events else None,
    }


def simulate(model: Any, kind: str, days: int, seed: int, injected: list[Any]) -> tuple:
    from gridpilot.sim.generate import Accumulator, generate
    from gridpilot.sim.model import SimContext
    from gridpilot.sim.weather import WeatherModel

    ctx = SimContext(
        seed=seed,
        timezone="Europe/Rome",
        weather_model=WeatherModel(seed),
        asset_key=f"bench-{kind}",
        injected=injected,
    )
    end = T0 + days * DAY_MS
    ts, values = generate(model, ctx, T0, end, step_ms=STEP_MS, accumulator=Accumulator())
    index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ms", utc=True))
    frame = pd.DataFrame({k: v for k, v in values.items()}, index=index)
    return frame, ctx.anomaly_level(kind, ts), ctx, ts


def events_of(level: np.ndarray) -> list[np.ndarray]:
    """Index arrays of each run of consecutive faulty buckets."""
    faulty = level >= FAULT_LEVEL
    runs, current = [], []
    for i, bad in enumerate(faulty):
        if bad:
            current.append(i)
        elif current:
            runs.append(np.array(current))
            current = []
    if current:
        runs.append(np.array(current))
    return runs


def compressor_detectors(days: int, seed: int) -> dict[str, Any]:
    from gridpilot.sim.factory import Compressor
    from gridpilot.sim.model import Anomaly

    fast = [  # leaks growing over 10 h (the Isolation Forest's run)
        Anomaly("leak", T0 + d * DAY_MS + 8 * HOUR_MS, 10 * HOUR_MS, 0.8, 2 * HOUR_MS)
        for d in range(2, days, 5)
    ]
    frame, level, _, _ = simulate(Compressor(), "leak", days, seed, fast)
    features = frame[["power_kw", "pressure_bar", "flow_m3h"]]
    forest = {}
    for contamination in (0.01, 0.05):
        findings = isolation_findings(features, contamination=contamination)
        flagged = features.index.isin([f.ts for f in findings])
        forest[f"contamination_{contamination}"] = scores(
            np.asarray(flagged), level >= FAULT_LEVEL, events_of(level)
        )

    slow = [  # leaks growing over 2 days to 0.75 bar (the trend test's run)
        Anomaly("leak", T0 + d * DAY_MS, 2 * DAY_MS, 0.5, 12 * HOUR_MS)
        for d in range(2, days - 2, 6)
    ]
    frame, level, _, _ = simulate(Compressor(), "leak", days, seed, slow)
    window, stride = 96, 48  # 24 h of 15-min buckets, 12 h stride
    predicted, actual = [], []
    for start in range(0, len(frame) - window + 1, stride):
        part = frame["pressure_bar"].iloc[start : start + window]
        growth = float(level[start + window - 1] - level[start])
        actual.append(growth >= TREND_GROWTH)  # a fault still developing: 0.22 bar or more
        result = mann_kendall(part, deseasonalise=False)  # one day: no daily profile to remove
        predicted.append(trend_severity(result, min_change=0.2) is not None)
    trend = scores(np.array(predicted), np.array(actual), [])
    trend.pop("event_recall")
    trend.pop("events")
    return {"buckets": len(frame), "isolation_forest": forest, "trend_24h_windows": trend}


def hvac_zscore(days: int, seed: int) -> dict[str, Any]:
    from gridpilot.sim.clock import LocalTime, production_intensity
    from gridpilot.sim.factory import Hvac
    from gridpilot.sim.model import Anomaly

    injected = [  # fouling in the scored (second) half: 6 h to full severity, held 12 h
        Anomaly("fouling", T0 + d * DAY_MS + 6 * HOUR_MS, 6 * HOUR_MS, 1.0, 12 * HOUR_MS)
        for d in range(days // 2 + 1, days, 4)
    ]
    frame, level, ctx, ts = simulate(Hvac(), "fouling", days, seed, injected)
    intensity = production_intensity(LocalTime.of(ts, ctx.timezone))
    outdoor = frame["outdoor_temperature_c"].to_numpy()
    data = pd.DataFrame(
        {
            "energy_kwh": frame["power_kw"].to_numpy() * STEP_MS / HOUR_MS,
            "intensity": intensity,
            "cdh": np.maximum(outdoor - 16.0, 0.0),
            "hdh": np.maximum(12.0 - outdoor, 0.0),
            "fault": level,
        },
        index=frame.index,
    )
    hourly = data.resample("1h").agg(
        {"energy_kwh": "sum", "intensity": "mean", "cdh": "mean", "hdh": "mean", "fault": "max"}
    )
    half = len(hourly) // 2
    drivers = [d for d in ("intensity", "cdh", "hdh") if hourly[d].iloc[:half].std() > 0]
    fit = fit_baseline(hourly.iloc[:half], energy="energy_kwh", drivers=drivers, granularity="hour")
    test = hourly.iloc[half:]
    _, findings = residual_zscores(test["energy_kwh"], fit.predict(test), fit.rmse)
    truth_level = test["fault"].to_numpy()
    truth, events = truth_level >= FAULT_LEVEL, events_of(truth_level)
    result: dict[str, Any] = {}
    for name, chosen in (
        ("warning_or_critical", findings),
        ("critical_only", [f for f in findings if f.severity == "critical"]),
    ):
        flagged = np.asarray(test.index.isin([f.ts for f in chosen]))
        result[name] = scores(flagged, truth, events)
    result.update(baseline_r2=round(fit.r2, 3), baseline_cv_rmse_pct=round(fit.cv_rmse_pct, 2))
    return result


def savings_data(seed: int, reduction: float = 0.10) -> tuple[pd.DataFrame, float]:
    """Two years of daily energy of a building: 365 baseline days, then 365 days in which the
    energy is cut by ``reduction`` (the designed savings). Energy = 300 + 9 HDD(15.5) +
    7 CDD(20) [kWh/day] + N(0, 12) noise (AR(1), phi 0.4); temperature a yearly sine, 12 +- 10
    degC, with N(0, 3) weather noise. Returns the frame and the designed savings [kWh]."""
    rng = np.random.default_rng(seed)
    n = 730
    index = pd.date_range("2025-01-01", periods=n, freq="D", tz="UTC")
    day = np.arange(n)
    temperature = 12 - 10 * np.cos(2 * np.pi * (day - 15) / 365) + rng.normal(0, 3, n)
    hdd, cdd = np.clip(15.5 - temperature, 0, None), np.clip(temperature - 20, 0, None)
    noise = np.zeros(n)
    shocks = rng.normal(0, 12 * np.sqrt(1 - 0.4**2), n)
    for k in range(1, n):
        noise[k] = 0.4 * noise[k - 1] + shocks[k]
    counterfactual = 300 + 9 * hdd + 7 * cdd + noise
    energy = counterfactual.copy()
    energy[365:] *= 1 - reduction
    designed = float((counterfactual[365:] - energy[365:]).sum())
    frame = pd.DataFrame(
        {"energy_kwh": energy, "hdd": hdd, "cdd": cdd, "temperature_c": temperature}, index=index
    )
    return frame, designed


def savings_vs_eemeter(seeds: int, eemeter_python: str) -> dict[str, Any]:
    """Savings on synthetic data with a known designed reduction: gridpilot's baseline (OLS on
    HDD/CDD, G14 uncertainty) beside eemeter's CalTRACK daily model, the same data, same run."""
    import subprocess
    from pathlib import Path

    from gridpilot.analytics.baseline_report import report

    peer = Path(__file__).with_name("eemeter_peer.py")
    rows = []
    for seed in range(seeds):
        frame, designed = savings_data(seed)
        base, after = frame.iloc[:365], frame.iloc[365:]
        fit = fit_baseline(base, energy="energy_kwh", drivers=["hdd", "cdd"], granularity="day")
        ours = report(fit, after)
        bands = {u["confidence"]: u for u in ours.savings_uncertainty}
        row: dict[str, Any] = {
            "seed": seed,
            "designed_kwh": round(designed, 1),
            "gridpilot_kwh": round(ours.savings_kwh, 1),
            "gridpilot_u68_kwh": round(bands[0.68]["uncertainty_kwh"], 1),
            "gridpilot_u90_kwh": round(bands[0.9]["uncertainty_kwh"], 1),
            "gridpilot_fsu68": round(bands[0.68]["fraction"], 3),
            "designed_within_90": abs(ours.savings_kwh - designed) <= bands[0.9]["uncertainty_kwh"],
        }
        payload = {
            "dates": [d.strftime("%Y-%m-%d") for d in frame.index],
            "temperature_c": frame["temperature_c"].round(3).tolist(),
            "observed_kwh": frame["energy_kwh"].round(4).tolist(),
            "split": 365,
        }
        done = subprocess.run(
            [eemeter_python, str(peer)], input=json.dumps(payload), capture_output=True,
            text=True, timeout=600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            row["eemeter"] = f"failed: {done.stderr.strip().splitlines()[-1:]}"
        else:
            peer_out = json.loads(done.stdout)
            row["eemeter_kwh"] = round(peer_out["savings_kwh"], 1)
            row["eemeter_model_uncertainty_kwh"] = peer_out["model_uncertainty_kwh"]
            row["eemeter_version"] = peer_out["eemeter_version"]
        rows.append(row)
    errors = [abs(r["gridpilot_kwh"] - r["designed_kwh"]) / r["designed_kwh"] for r in rows]
    peer_errors = [
        abs(r["eemeter_kwh"] - r["designed_kwh"]) / r["designed_kwh"]
        for r in rows
        if "eemeter_kwh" in r
    ]
    return {
        "rows": rows,
        "gridpilot_mean_abs_error_pct": round(100 * float(np.mean(errors)), 2),
        "eemeter_mean_abs_error_pct": (
            round(100 * float(np.mean(peer_errors)), 2) if peer_errors else None
        ),
        "designed_within_gridpilot_90pct": sum(r["designed_within_90"] for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short simulations, few repeats")
    parser.add_argument("--days", type=int, default=28, help="simulated days (default 28)")
    parser.add_argument("--repeats", type=int, default=10, help="timed fits (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--eemeter-python",
        default="/tmp/eemeter-venv/bin/python",
        help="an interpreter with eemeter installed (default /tmp/eemeter-venv/bin/python)",
    )
    parser.add_argument("--savings-seeds", type=int, default=10, help="savings cases (default 10)")
    parser.add_argument("--savings-only", action="store_true", help="only the eemeter comparison")
    args = parser.parse_args(argv)
    if args.savings_only:
        found = savings_vs_eemeter(args.savings_seeds, args.eemeter_python)
        json.dump({"savings_vs_eemeter": found}, sys.stdout, indent=2, default=str)
        print()
        return 0
    days = 14 if args.quick else args.days
    repeats = 3 if args.quick else args.repeats
    report: dict[str, Any] = {"fit_time": fit_time(repeats)}
    report["api_fit_time"] = asyncio.run(api_fit_time(3 if args.quick else 5))
    try:
        import gridpilot.sim.factory  # noqa: F401
    except ImportError:
        report["detectors"] = "skipped: gridpilot.sim is not available"
    else:
        report["detectors"] = {
            "days": days,
            "compressor_leak": compressor_detectors(days, args.seed),
            "hvac_fouling_zscore": hvac_zscore(days, args.seed),
        }
    report["savings_vs_eemeter"] = savings_vs_eemeter(args.savings_seeds, args.eemeter_python)
    json.dump(report, sys.stdout, indent=2, default=str)
    print()
    met = report["fit_time"]["meets_target"] and report["api_fit_time"]["meets_target"]
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
