"""Demand response benchmark: customer baselines (CBL) for a fleet, their time and their accuracy.

Synthetic 15-min load of 100 sites (offices, retail, factories, households in Europe/Rome with
Italian public holidays), deterministic from a seed: weekday/weekend shapes, heating and cooling
driven by an outdoor temperature (season, day, synoptic swings), a day-to-day level factor,
AR(1) and white noise; each site has 3 past events (14-18 h curtailed to 70 %, listed as
excluded days) and one unannounced shutdown day (20 % all day, not listed: the low-usage rules
must catch it). 10 weeks of history, then the event day.

Measured:

1. time: the baseline of one event (14-18 h local on the day after the history) for each of
   the ``--sites`` (100) sites, for each preset and for the weather regression, from the raw
   series (target, issue #17: 100 sites in under 5 s);
2. accuracy on placebo days, for ``--eval-sites`` (100) sites: every non-event day of the last
   5 weeks (about 32 per site, weekdays and weekends) is treated as an event from 14 to 18 h;
   each method's bias and CV(RMSE) [%] over those hours (``gridpilot.analytics.cbl.accuracy``:
   ASHRAE Guideline 14 definitions, p = 0), at 15 min and on hourly means. The peer is
   OpenEEmeter's CalTRACK hourly model (``eemeter.drmeter``, the DR flavour of the hourly TOWT
   model) on the first ``--eemeter-sites`` (12) sites when ``eemeter`` is installed (it is not
   a gridpilot dependency: ``.venv/bin/pip install eemeter``): fitted once per site on the
   first 5 weeks (event and shutdown days removed), then predicting the placebo weeks,
   compared on hourly means; the day-matching methods use the days just before each placebo
   day instead, as in operation.

No figure is asserted here. ``--quick`` runs a small version.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/dr.py
"""

# ruff: noqa: E402  (the BLAS thread setting must come before numpy is imported)
from __future__ import annotations

import os

# One BLAS thread: the regression fits are small (hundreds of rows), and threaded BLAS on a
# shared 2-core machine made each one about 18 times slower (spin-waiting on busy cores).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from gridpilot.analytics.cbl import (
    PRESETS,
    CblResult,
    NotEnoughDays,
    baseline_from_profiles,
    customer_baseline,
    day_profiles,
    event_window,
    placebo_accuracy,
    weather_baseline,
    weather_from_profiles,
)
from gridpilot.analytics.cbl.days import holidays_between

TIMEZONE = "Europe/Rome"
COUNTRY = "IT"
KINDS = ("office", "retail", "factory", "household")
HISTORY_DAYS = 70
PLACEBO_DAYS = 35  # the last 5 weeks of the history
EVENT_HOURS = (14, 18)
WEATHER = "weather_regression"
EEMETER = "eemeter_caltrack_hourly"


@dataclass
class Site:
    kind: str
    load_kw: pd.Series  # history and the event day
    temperature_c: pd.Series
    first_day: dt.date
    events: list[dt.date]  # past events (excluded)
    shutdown: dt.date  # not announced


def temperature_c(local: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Outdoor temperature [degC]: season + daily cycle (warmest at 15:00) + synoptic swings."""
    doy = np.asarray(local.day_of_year, dtype="float64")
    hour = np.asarray(local.hour + local.minute / 60, dtype="float64")
    seasonal = 14 - 10 * np.cos(2 * np.pi * (doy - 20) / 365.25)
    daily = 5 * np.cos(2 * np.pi * (hour - 15) / 24)
    days = (local.normalize() - local.normalize()[0]).days.to_numpy()
    knots = np.convolve(rng.normal(0, 1, days.max() + 12), np.ones(4) / 2, "same")
    synoptic = 3 * np.interp(days + hour / 24, np.arange(len(knots)), knots)
    return seasonal + daily + synoptic


def shape(kind: str, hour: np.ndarray, dow: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Relative load of ``kind`` by local hour, day of week and holiday (``off``)."""
    weekend = (dow >= 5) | off
    if kind == "office":
        open_ = (hour >= 8) & (hour < 19) & ~weekend
        return 0.35 + 0.65 * open_ * (1 - 0.15 * np.exp(-((hour - 13) ** 2) / 2))
    if kind == "retail":
        open_ = (hour >= 9) & (hour < 21) & ~((dow == 6) | off)
        return (0.3 + 0.7 * open_ * (0.8 + 0.2 * np.sin(np.pi * (hour - 9) / 12))) * np.where(
            dow == 5, 1.15, 1.0
        )
    if kind == "factory":
        shift = np.where((hour >= 6) & (hour < 14), 1.0, np.where(hour < 22, 0.8, 0.45))
        return np.where(weekend, 0.3, np.where(hour < 6, 0.45, shift))
    return (
        0.25
        + 0.35 * np.exp(-((hour - 7.5) ** 2) / 1.5)
        + 0.6 * np.exp(-((hour - 20) ** 2) / 4)
        + 0.15 * weekend * ((hour > 9) & (hour < 18))
    )


def make_site(i: int) -> Site:
    """Site ``i``: see the module docstring. Deterministic in ``i``."""
    rng = np.random.default_rng(1000 + i)
    kind = KINDS[i % len(KINDS)]
    first_day = dt.date(2026, 1, 12) + dt.timedelta(days=int(i * 11 % 200))
    start = pd.Timestamp(first_day).tz_localize(TIMEZONE)
    end = pd.Timestamp(first_day + dt.timedelta(days=HISTORY_DAYS + 1)).tz_localize(TIMEZONE)
    local = pd.date_range(start, end, freq="15min", inclusive="left")
    hour = np.asarray(local.hour + local.minute / 60, dtype="float64")
    dow = np.asarray(local.day_of_week)
    dates = np.asarray(local.date)
    holidays = holidays_between(COUNTRY, first_day, first_day + dt.timedelta(days=HISTORY_DAYS))
    off = np.isin(dates, list(holidays))
    temp = temperature_c(local, rng)
    base = shape(kind, hour, dow, off)
    occupied = base > 0.5
    cooling = np.maximum(0.0, temp - 22) * 0.04 * (0.4 + 0.6 * occupied)
    heating = np.maximum(0.0, 14 - temp) * 0.02
    day_index = (local.normalize() - local.normalize()[0]).days.to_numpy()
    day_level = 1 + rng.normal(0, 0.05, day_index.max() + 1)[day_index]
    noise_sd = 0.20 if kind == "household" else 0.04
    ar = lfilter([1.0], [1.0, -0.8], rng.normal(0, noise_sd * 0.6, len(local)))
    load = (
        base
        * (1 + cooling + heating)
        * day_level
        * (1 + ar + rng.normal(0, noise_sd / 2, len(local)))
    )
    scale = rng.uniform(1, 6) if kind == "household" else rng.uniform(50, 500)
    weekdays = [
        first_day + dt.timedelta(days=d)
        for d in range(7, HISTORY_DAYS)
        if (first_day + dt.timedelta(days=d)).weekday() < 5
    ]
    picks = rng.choice(len(weekdays), size=4, replace=False)
    events, shutdown = sorted(weekdays[p] for p in picks[:3]), weekdays[picks[3]]
    in_event = np.isin(dates, events) & (hour >= EVENT_HOURS[0]) & (hour < EVENT_HOURS[1])
    load = np.where(in_event, load * 0.7, load)
    load = np.where(dates == shutdown, load * 0.2, load)
    index = local.tz_convert("UTC")
    return Site(
        kind=kind,
        load_kw=pd.Series(np.maximum(0.0, load * scale), index=index),
        temperature_c=pd.Series(temp, index=index),
        first_day=first_day,
        events=events,
        shutdown=shutdown,
    )


def event_bounds(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(dt.datetime.combine(day, dt.time(EVENT_HOURS[0]))).tz_localize(TIMEZONE)
    end = pd.Timestamp(dt.datetime.combine(day, dt.time(EVENT_HOURS[1]))).tz_localize(TIMEZONE)
    return start, end


def time_fleet(sites: list[Site]) -> dict[str, float]:
    """Seconds to compute one event's baseline for every site, per method, from raw series."""
    timings: dict[str, float] = {}
    inputs = []
    for site in sites:
        event_day = site.first_day + dt.timedelta(days=HISTORY_DAYS)
        start, end = event_bounds(event_day)
        history = site.load_kw[: start.tz_convert("UTC") - pd.Timedelta(minutes=15)]
        inputs.append((site, start, end, history))
    weather_baseline(  # warm-up: the first statsmodels import takes seconds
        inputs[0][3],
        inputs[0][0].temperature_c,
        event_start=inputs[0][1],
        event_end=inputs[0][2],
        timezone=TIMEZONE,
        holiday_country=COUNTRY,
    )
    for name in PRESETS:
        started = time.perf_counter()
        for site, start, end, history in inputs:
            customer_baseline(
                history,
                event_start=start,
                event_end=end,
                timezone=TIMEZONE,
                method=name,
                excluded_dates=site.events,
                holiday_country=COUNTRY,
            )
        timings[name] = time.perf_counter() - started
    started = time.perf_counter()
    for site, start, end, history in inputs:
        weather_baseline(
            history,
            site.temperature_c,
            event_start=start,
            event_end=end,
            timezone=TIMEZONE,
            excluded_dates=site.events,
            holiday_country=COUNTRY,
        )
    timings[WEATHER] = time.perf_counter() - started
    return timings


def placebo_days(site: Site) -> list[dt.date]:
    first = site.first_day + dt.timedelta(days=HISTORY_DAYS - PLACEBO_DAYS)
    days = [first + dt.timedelta(days=d) for d in range(PLACEBO_DAYS)]
    return [d for d in days if d not in site.events and d != site.shutdown]


def hourly(result: CblResult) -> CblResult:
    """The same baseline as hourly means (to compare with an hourly model)."""
    series = result.baseline_kw.resample("1h").mean()
    return CblResult(result.method, result.parameters, series, series)


def site_baselines(site: Site) -> tuple[dict[str, list[CblResult]], dict[str, int]]:
    """Every method's baseline on every placebo day of ``site``, and days it could not do."""
    load = day_profiles(site.load_kw, timezone=TIMEZONE)
    temp = day_profiles(site.temperature_c, timezone=TIMEZONE)
    holidays = holidays_between(COUNTRY, site.first_day, site.first_day + dt.timedelta(days=90))
    results: dict[str, list[CblResult]] = {name: [] for name in [*PRESETS, WEATHER]}
    failed: dict[str, int] = dict.fromkeys(results, 0)
    for day in placebo_days(site):
        start, end = event_bounds(day)
        event = event_window(start, end, step_minutes=15, timezone=TIMEZONE)
        for name, method in PRESETS.items():
            try:
                results[name].append(
                    baseline_from_profiles(
                        load, event, method, excluded=site.events, holidays=holidays
                    )
                )
            except NotEnoughDays:
                failed[name] += 1
        try:
            results[WEATHER].append(
                weather_from_profiles(load, temp, event, excluded=site.events, holidays=holidays)
            )
        except NotEnoughDays:
            failed[WEATHER] += 1
    return results, failed


def eemeter_baselines(site: Site) -> list[CblResult] | None:
    """CalTRACK hourly (OpenEEmeter drmeter) on the placebo days; None without eemeter."""
    try:
        from eemeter.drmeter.models.caltrack.data import BaselineData, ReportingData
        from eemeter.drmeter.models.caltrack.model import Model
    except ImportError:
        return None
    hourly_kw = site.load_kw.resample("1h").mean()
    temp_f = site.temperature_c.resample("1h").mean() * 9 / 5 + 32
    local_dates = hourly_kw.index.tz_convert(TIMEZONE).date
    split = pd.Timestamp(site.first_day + dt.timedelta(days=HISTORY_DAYS - PLACEBO_DAYS))
    split_utc = split.tz_localize(TIMEZONE).tz_convert("UTC")
    train = hourly_kw[hourly_kw.index < split_utc].copy()
    bad = np.isin(local_dates[: len(train)], [*site.events, site.shutdown])
    train[bad] = np.nan
    later = temp_f[temp_f.index >= split_utc]
    with warnings.catch_warnings():  # its rank-deficiency warnings on short segments
        warnings.simplefilter("ignore")
        model = Model().fit(BaselineData.from_series(train, temp_f, is_electricity_data=True))
        reporting = ReportingData.from_series(None, later, is_electricity_data=True)
        predicted = model.predict(reporting)
    out = []
    for day in placebo_days(site):
        start, end = event_bounds(day)
        window = predicted["predicted"][
            start.tz_convert("UTC") : end.tz_convert("UTC") - pd.Timedelta(hours=1)
        ]
        out.append(CblResult(EEMETER, {}, window, window))
    return out


def site_accuracy(site: Site, with_eemeter: bool) -> tuple[list[dict[str, object]], str]:
    """Per method: placebo days done and failed, bias and CV(RMSE) at 15 min and hourly."""
    results, failed = site_baselines(site)
    state = "not run"
    if with_eemeter:
        try:
            peer = eemeter_baselines(site)
            state = "ok" if peer is not None else "eemeter not installed"
        except Exception as exc:  # the peer's own failure is reported, not fatal
            peer, state = None, f"failed: {type(exc).__name__}: {exc}"[:200]
        if peer is not None:
            results[EEMETER] = peer
    hourly_kw = site.load_kw.resample("1h").mean()
    rows: list[dict[str, object]] = []
    for name, found in results.items():
        row: dict[str, object] = {"method": name, "days": len(found), "failed": failed.get(name, 0)}
        if found and name != EEMETER:
            acc = placebo_accuracy(name, site.load_kw, found)
            row |= {"bias15": acc.bias_pct, "cv15": acc.cv_rmse_pct}
        if found:
            per_hour = found if name == EEMETER else [hourly(r) for r in found]
            acc = placebo_accuracy(name, hourly_kw, per_hour)
            row |= {"bias1h": acc.bias_pct, "cv1h": acc.cv_rmse_pct}
        rows.append(row)
    return rows, state


def evaluate(sites: list[Site], eemeter_sites: int) -> tuple[list[dict[str, object]], str]:
    """Per-site placebo accuracy rows (``site`` added) and the peer's state."""
    rows: list[dict[str, object]] = []
    state = "skipped (--eemeter-sites 0)"
    for i, site in enumerate(sites):
        site_rows, site_state = site_accuracy(site, with_eemeter=i < eemeter_sites)
        if i < eemeter_sites and (i == 0 or site_state != "ok"):
            state = site_state
        rows += [r | {"site": i} for r in site_rows]
    return rows, state


def summarise(rows: list[dict[str, object]], sites: set[int]) -> dict[str, dict[str, float]]:
    """Per method over ``sites``: placebo days, failures, mean bias and median CV(RMSE) [%]."""
    table: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(str(r["method"]) for r in rows):
        mine = [r for r in rows if r["method"] == name and r["site"] in sites]
        if not mine:
            continue
        out = {
            "sites": float(len(mine)),
            "days": float(sum(int(r["days"]) for r in mine)),  # type: ignore[call-overload]
            "failed": float(sum(int(r["failed"]) for r in mine)),  # type: ignore[call-overload]
        }
        for key, agg in (("bias15", np.mean), ("cv15", np.median), ("bias1h", np.mean)):
            values = [float(r[key]) for r in mine if key in r]  # type: ignore[arg-type]
            if values:
                out[key] = round(float(agg(values)), 2)
        values = [float(r["cv1h"]) for r in mine if "cv1h" in r]  # type: ignore[arg-type]
        if values:
            out["cv1h"] = round(float(np.median(values)), 2)
        table[name] = out
    return table


def print_timings(timings: dict[str, float], n_sites: int) -> None:
    print(f"1. CBL time: one event (14-18 h) for each of {n_sites} sites, 10 weeks of 15-min data")
    print(f"   {'method':<26}{'seconds':>9}{'ms/site':>9}   target: 100 sites < 5 s")
    for name, seconds in timings.items():
        verdict = "met" if seconds * 100 / n_sites < 5 else "NOT met"
        print(f"   {name:<26}{seconds:>9.2f}{1000 * seconds / n_sites:>9.1f}   {verdict}")


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(title)
    print(
        f"   {'method':<26}{'sites':>6}{'days':>6}{'failed':>7}"
        f"{'bias 15m':>9}{'cv 15m':>8}{'bias 1h':>9}{'cv 1h':>8}"
    )
    for name, row in table.items():
        cells = [f"{row[k]:.2f}" if k in row else "" for k in ("bias15", "cv15", "bias1h", "cv1h")]
        print(
            f"   {name:<26}{row['sites']:>6.0f}{row['days']:>6.0f}{row['failed']:>7.0f}"
            f"{cells[0]:>9}{cells[1]:>8}{cells[2]:>9}{cells[3]:>8}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few sites only")
    parser.add_argument("--sites", type=int, default=100, help="sites timed (default 100)")
    parser.add_argument("--eval-sites", type=int, default=100, help="sites with placebo days")
    parser.add_argument(
        "--eemeter-sites", type=int, default=12, help="of those, sites for the OpenEEmeter peer"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    if args.quick:
        args.sites, args.eval_sites, args.eemeter_sites = 4, 2, 1
    sites = [make_site(i) for i in range(max(args.sites, args.eval_sites))]
    timings = time_fleet(sites[: args.sites])
    print_timings(timings, args.sites)
    started = time.perf_counter()
    rows, state = evaluate(sites[: args.eval_sites], args.eemeter_sites)
    everything = summarise(rows, set(range(args.eval_sites)))
    print(
        "\n2. Placebo days: non-event days of the last 5 weeks as events (14-18 h local)\n"
        "   bias = 100 x sum(baseline - actual) / (n x mean actual), mean over sites (> 0: the\n"
        "   baseline over-states the load); CV(RMSE) = 100 x RMSE / mean actual, median over\n"
        "   sites (ASHRAE Guideline 14 with p = 0); at 15 min and on hourly means"
    )
    print_table(f"   all {args.eval_sites} evaluated sites:", everything)
    peer_sites = set(range(min(args.eemeter_sites, args.eval_sites)))
    if peer_sites:
        print_table(f"   the {len(peer_sites)} sites with the peer:", summarise(rows, peer_sites))
    print(f"   peer (OpenEEmeter CalTRACK hourly, eemeter.drmeter): {state}")
    print(f"   (placebo evaluation: {time.perf_counter() - started:.0f} s)")
    if args.json:
        json.dump({"timings_s": timings, "placebo": rows}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
