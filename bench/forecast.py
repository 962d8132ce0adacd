"""Forecast benchmark: gridpilot's forecaster against seasonal-naive (same time last week).

Two data sets:

* synthetic realistic 15-min load of commercial buildings, factories and households (daily and
  weekly profiles, Italian public holidays, heating/cooling driven by an outdoor temperature
  with synoptic swings, AR(1) noise, occasional outages, drift), generated from a seed; the
  outdoor temperature comes from gridpilot's simulator (``gridpilot.sim.weather``) when it is
  importable, else from the same kind of model here;
* sites of gridpilot's simulator (``gridpilot.sim``): the factory, the office building and the
  energy community (net of its members' rooftop PV), see ``make_sim_site``.

Weather regressors are what a forecaster has at the origin: measurements before it and a
*forecast* after it, made here from the true weather plus an error (``weather_forecast``:
temperature, about 0.5 degC; ``irradiance_forecast``: the cloud factor, sd 0.15 changing
every 3 h plus a daily bias), a stand-in for a numerical weather forecast. The simulator sites
get temperature and irradiance, the synthetic loads temperature (their model has no PV).
Future load is never given.

Measured, day-ahead (96 steps, origin at local midnight) over a rolling origin of
``--days`` days per site:

* MAPE, MASE and WAPE of the model and of seasonal-naive, and the error reduction, overall,
  per kind of site and per site (MAPE is dominated by the few points where a net load is near
  zero; WAPE, sum |error| / sum |actual|, is not: see bench/README.md);
* empirical coverage of the 80 % and 95 % intervals;
* the wall time to forecast ``--sites`` sites (history 8 weeks, one forecast each).

Targets (issue 7): error (MAPE and MASE) at least 25 % lower than seasonal-naive; coverage
75-85 % / 92-97 %; 100 sites in under 60 s. ``--quick`` runs a small version (a few sites
and days).

    .venv/bin/python bench/forecast.py --quick
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from gridpilot.analytics.forecast import forecast_series
from gridpilot.analytics.forecast_metrics import coverage, mae, mape, naive_scale, wape
from gridpilot.analytics.seasonal_naive import seasonal_naive

STEP_MS = 15 * 60_000
DAY = 96
WEEK = 7 * DAY
TIMEZONE = "Europe/Rome"
COUNTRY = "IT"
KINDS = ("office", "retail", "factory", "household")


def temperature_c(index: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """Outdoor temperature [degC]: the simulator's weather model when available."""
    t_ms = index.as_unit("ms").asi8
    try:
        from gridpilot.sim.weather import WeatherModel

        return np.asarray(WeatherModel(seed=seed).at(t_ms).temperature_c, dtype="float64")
    except Exception:  # the simulator is optional here: same kind of model
        rng = np.random.default_rng(seed)
        days = t_ms / 86_400_000
        seasonal = 14 - 10 * np.cos(2 * np.pi * (days % 365.25 - 20) / 365.25)
        daily = 5 * np.cos(2 * np.pi * (days % 1 - 15 / 24))
        synoptic = np.convolve(rng.normal(0, 1, len(days) + 400), np.ones(400) / 20, "same")
        return seasonal + daily + 3 * synoptic[: len(days)]


def site_load_kw(index: pd.DatetimeIndex, temp: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """Synthetic 15-min site load [kW] of ``kind`` (see module docstring)."""
    rng = np.random.default_rng(seed)
    local = index.tz_convert(TIMEZONE)
    hour = np.asarray(local.hour + local.minute / 60, dtype="float64")
    dow = np.asarray(local.day_of_week)
    import holidays

    hol = holidays.country_holidays(COUNTRY, years=sorted(set(local.year)))
    off = np.isin(np.asarray(local.date), list(hol.keys())) | (dow == 6)
    scale = rng.uniform(50, 500)
    if kind == "office":
        open_ = (hour >= 7.5 + rng.uniform(-0.5, 0.5)) & (hour < 19) & ~off & (dow < 5)
        shape = 0.35 + 0.65 * open_ * (1 - 0.15 * np.exp(-((hour - 13) ** 2) / 2))
        shape = np.where(dow == 5, 0.4 + 0.1 * ((hour > 9) & (hour < 13)), shape)
        hvac_gain = 1.0
    elif kind == "retail":
        open_ = (hour >= 9) & (hour < 21) & ~off
        shape = 0.3 + 0.7 * open_ * (0.8 + 0.2 * np.sin(np.pi * (hour - 9) / 12))
        shape = np.where(dow == 5, shape * 1.15, shape)
        hvac_gain = 0.8
    elif kind == "factory":
        shift = np.where(
            (hour >= 6) & (hour < 14), 1.0, np.where((hour >= 14) & (hour < 22), 0.8, 0.45)
        )
        shift = np.where(dow >= 5, 0.3, shift)
        shape = np.where(off, 0.25, shift)
        hvac_gain = 0.3
    else:  # household: morning and evening peaks, very noisy
        shape = (
            0.25
            + 0.35 * np.exp(-((hour - 7.5) ** 2) / 1.5)
            + 0.6 * np.exp(-((hour - 20) ** 2) / 4)
            + 0.15 * (off | (dow >= 5)) * ((hour > 9) & (hour < 18))
        )
        hvac_gain = 0.6
        scale = rng.uniform(1, 6)
    heating = np.maximum(0.0, 15.0 - temp) * 0.02
    cooling = np.maximum(0.0, temp - 23.0) * 0.035 * (0.5 + 0.5 * (shape > 0.5))
    load = shape * (1 + hvac_gain * (heating + cooling))
    noise_sd = 0.25 if kind == "household" else 0.04
    ar = np.empty(len(index))
    e = rng.normal(0, noise_sd * np.sqrt(1 - 0.8**2), len(index))
    ar[0] = e[0]
    for i in range(1, len(ar)):
        ar[i] = 0.8 * ar[i - 1] + e[i]
    white = rng.normal(0, noise_sd / 2, len(index))
    load = load * (1 + ar + white)
    for start in rng.choice(len(index) - DAY, size=3, replace=False):  # outages / shutdowns
        load[start : start + int(rng.integers(4, 32))] *= 0.3
    drift = 1 + np.linspace(0, rng.uniform(-0.08, 0.08), len(index))
    return np.maximum(0.0, load * scale * drift)


#: ``--weather-error pessimistic``: errors of a poor day-ahead forecast, each a smooth error
#: (a new value every 3 h, linearly interpolated) plus a bias for the day, both with these sd:
#: temperature 1.5 / 1.0 degC, cloud factor 0.25 / 0.10.
PESSIMISTIC = {"temp_sd": 1.5, "temp_bias_sd": 1.0, "cloud_sd": 0.25, "cloud_bias_sd": 0.10}


def smooth_error(rng: np.random.Generator, n: int, sd: float, bias_sd: float) -> np.ndarray:
    """``n`` 15-min steps of an error with a new value every 3 h (sd ``sd``, interpolated) plus
    one bias for all of them (sd ``bias_sd``)."""
    knots = rng.normal(0, sd, n // 12 + 2)
    return np.interp(np.arange(n) / 12, np.arange(len(knots)), knots) + rng.normal(0, bias_sd)


def weather_forecast(
    temp: np.ndarray, origin: int, seed: int, pessimistic: bool = False
) -> np.ndarray:
    """Known temperature up to ``origin``, then a forecast with a growing error (or the
    ``PESSIMISTIC`` one)."""
    rng = np.random.default_rng(seed)
    out = temp.copy()
    lead = np.arange(1, len(temp) - origin + 1)
    if pessimistic:
        error = smooth_error(rng, len(lead), PESSIMISTIC["temp_sd"], PESSIMISTIC["temp_bias_sd"])
    else:
        error = rng.normal(0, 0.5, len(lead)) + 0.02 * lead**0.5 * rng.normal()
    out[origin:] = temp[origin:] + error
    return out


def irradiance_forecast(
    clear_ghi: np.ndarray, factor: np.ndarray, origin: int, seed: int, pessimistic: bool = False
) -> np.ndarray:
    """Global horizontal irradiance [W/m2]: measured (clear-sky x the cloud factor) up to
    ``origin``, then a day-ahead forecast whose cloud factor is wrong by a smooth error
    (standard deviation 0.15, new every 3 hours, linearly interpolated) plus a bias for the day
    (sd 0.05): a stand-in for a numerical weather forecast, which misses clouds by that much
    (``PESSIMISTIC``: 0.25 and 0.10)."""
    rng = np.random.default_rng(seed)
    out = clear_ghi * factor
    sd, bias_sd = 0.15, 0.05
    if pessimistic:
        sd, bias_sd = PESSIMISTIC["cloud_sd"], PESSIMISTIC["cloud_bias_sd"]
    error = smooth_error(rng, len(factor) - origin, sd, bias_sd)
    out[origin:] = clear_ghi[origin:] * np.clip(factor[origin:] + error, 0.25, 1.0)
    return out


def weather_frame(
    series: pd.Series,
    truth: dict[str, np.ndarray],
    origin: int,
    span: int,
    seed: int,
    pessimistic: bool = False,
) -> pd.DataFrame:
    """The regressors a forecaster at ``origin`` has: measured weather over the ``span``
    history rows, forecast weather over the next day (see ``weather_forecast``,
    ``irradiance_forecast``)."""
    rows = slice(origin - span, origin + DAY)
    temp = weather_forecast(truth["temperature_c"], origin, seed, pessimistic)
    columns = {"temperature_c": temp[rows]}
    if "clear_ghi_wm2" in truth:
        ghi = irradiance_forecast(
            truth["clear_ghi_wm2"], truth["clear_sky_factor"], origin, seed, pessimistic
        )
        columns["irradiance_wm2"] = ghi[rows]
    return pd.DataFrame(columns, index=series.index[rows])


def make_site(i: int, weeks: int, days: int) -> tuple[pd.Series, dict[str, np.ndarray], str]:
    kind = KINDS[i % len(KINDS)]
    first_day = pd.Timestamp("2025-09-01") + pd.Timedelta(days=int(i * 11 % 200))
    start = first_day.tz_localize(TIMEZONE).tz_convert("UTC")
    index = pd.date_range(start, periods=(weeks * 7 + days + 1) * DAY, freq="15min")
    temp = temperature_c(index, seed=1000 + i)
    load = site_load_kw(index, temp, kind, seed=i)
    return pd.Series(load, index=index), {"temperature_c": temp}, kind


SIM_SCENARIOS = ("factory", "building", "community")
_PRODUCERS = ("PvPlant", "WindTurbine", "Battery")


def make_sim_site(i: int, weeks: int, days: int) -> tuple[pd.Series, dict[str, np.ndarray], str]:
    """A site of gridpilot's simulator (``gridpilot.sim``): the summed power of its consumers
    (factory machines; office HVAC, lighting, plugs, EV chargers; community members, net of
    their rooftop PV), each run at its native interval and averaged per 15 min like a meter
    would; seed ``i``. The simulator does not model public holidays, so these sites are
    forecast without. Weather: the simulator's temperature, clear-sky irradiance (pvlib) and
    cloud factor at the site."""
    from gridpilot.sim.generate import Accumulator, generate
    from gridpilot.sim.model import SimContext
    from gridpilot.sim.scenarios import scenario_sites
    from gridpilot.sim.solar import clear_sky
    from gridpilot.sim.weather import WeatherModel

    name = SIM_SCENARIOS[i % len(SIM_SCENARIOS)]
    spec = scenario_sites(name)[0]
    first_day = pd.Timestamp("2025-09-01") + pd.Timedelta(days=int(i * 11 % 200))
    start = first_day.tz_localize(spec.timezone).tz_convert("UTC")
    index = pd.date_range(start, periods=(weeks * 7 + days + 1) * DAY, freq="15min")
    start_ms = index[0].value // 1_000_000
    end_ms = start_ms + len(index) * STEP_MS
    weather = WeatherModel(seed=i, latitude=spec.latitude, longitude=spec.longitude)
    total = np.zeros(len(index))
    for asset in spec.assets:
        if type(asset.model).__name__ in _PRODUCERS:
            continue
        ctx = SimContext(
            seed=i, timezone=spec.timezone, weather_model=weather, asset_key=asset.device_id
        )
        _, values = generate(
            asset.model, ctx, start_ms, end_ms, step_ms=STEP_MS, accumulator=Accumulator()
        )
        total += np.asarray(values["power_kw"], dtype="float64")[: len(index)]
    t_ms = index.as_unit("ms").asi8
    now = weather.at(t_ms)
    truth = {
        "temperature_c": np.asarray(now.temperature_c, dtype="float64"),
        "clear_sky_factor": np.asarray(now.clear_sky_factor, dtype="float64"),
        "clear_ghi_wm2": clear_sky(t_ms, spec.latitude, spec.longitude)[1]["ghi"].to_numpy(),
    }
    return pd.Series(total, index=index), truth, f"sim-{name}"


def _reduction(model: float, naive: float) -> float:
    return round(100 * (1 - model / naive), 1)


def evaluate(
    n_sites: int, weeks: int, days: int, *, simulated: bool, pessimistic: bool = False
) -> dict[str, object]:
    """Rolling-origin accuracy over ``days`` day-ahead forecasts per site: MAPE (the mean of
    the forecasts' MAPEs), MASE (MAE over the history's in-sample seasonal-naive MAE), WAPE
    (all absolute errors over all absolute actual values), the same measure for the model and
    for seasonal-naive; overall, per kind of site and per site."""
    per_kind: dict[str, dict[str, list[float]]] = {}
    per_site: list[dict[str, object]] = []
    keys = ("model", "naive", "mase_model", "mase_naive", "c80", "c95")
    everything: dict[str, list[float]] = {k: [] for k in keys}
    abs_err = {"model": 0.0, "naive": 0.0, "actual": 0.0}
    build = make_sim_site if simulated else make_site
    for i in range(n_sites):
        series, truth, kind = build(i, weeks, days)
        site: dict[str, list[float]] = {k: [] for k in keys}
        for d in range(days):
            origin = (weeks * 7 + d) * DAY  # local midnight (+-1 h after a DST change)
            history = series.iloc[origin - weeks * 7 * DAY : origin]
            actual = series.iloc[origin : origin + DAY].to_numpy()
            weather = weather_frame(
                series, truth, origin, weeks * 7 * DAY, seed=i * 1000 + d, pessimistic=pessimistic
            )
            fc = forecast_series(
                history,
                horizon=DAY,
                timezone=TIMEZONE,
                country=None if simulated else COUNTRY,  # the simulator has no holidays
                weather=weather,
            )
            naive = seasonal_naive(history.to_numpy(), period=WEEK, horizon=DAY)
            scale = naive_scale(history.to_numpy(), period=WEEK)
            site["model"].append(mape(actual, fc.yhat))
            site["naive"].append(mape(actual, naive))
            site["mase_model"].append(mae(actual, fc.yhat) / scale)
            site["mase_naive"].append(mae(actual, naive) / scale)
            site["c80"].append(coverage(actual, fc.lo80, fc.hi80))
            site["c95"].append(coverage(actual, fc.lo95, fc.hi95))
            abs_err["model"] += wape(actual, fc.yhat) * float(np.abs(actual).sum())
            abs_err["naive"] += wape(actual, naive) * float(np.abs(actual).sum())
            abs_err["actual"] += float(np.abs(actual).sum())
        bucket = per_kind.setdefault(kind, {k: [] for k in keys})
        for k in keys:
            bucket[k] += site[k]
            everything[k] += site[k]
        per_site.append({"site": i, "kind": kind, **_summary(site)})
    wape_model = abs_err["model"] / abs_err["actual"]
    wape_naive = abs_err["naive"] / abs_err["actual"]
    summary = _summary(everything)
    return {
        "forecasts": len(everything["model"]),
        **summary,
        "mape_reduction_pct": _reduction(summary["mape_model_pct"], summary["mape_naive_pct"]),
        "mase_reduction_pct": _reduction(summary["mase_model"], summary["mase_naive"]),
        "wape_model_pct": round(wape_model, 2),
        "wape_naive_pct": round(wape_naive, 2),
        "wape_reduction_pct": _reduction(wape_model, wape_naive),
        "by_kind": {k: _summary(v) for k, v in per_kind.items()},
        "by_site": per_site,
    }


def _summary(values: dict[str, list[float]]) -> dict[str, float]:
    return {
        "mape_model_pct": round(float(np.mean(values["model"])), 2),
        "mape_naive_pct": round(float(np.mean(values["naive"])), 2),
        "mase_model": round(float(np.mean(values["mase_model"])), 3),
        "mase_naive": round(float(np.mean(values["mase_naive"])), 3),
        "coverage80_pct": round(100 * float(np.mean(values["c80"])), 1),
        "coverage95_pct": round(100 * float(np.mean(values["c95"])), 1),
    }


def time_fleet(n_sites: int, weeks: int) -> dict[str, object]:
    """Wall time of one day-ahead forecast for each of ``n_sites`` sites (data prepared first)."""
    sites = [make_site(i, weeks, 1) for i in range(n_sites)]
    inputs = []
    for i, (series, truth, _) in enumerate(sites):
        origin = weeks * 7 * DAY
        weather = weather_frame(series, truth, origin, origin, seed=i)
        inputs.append((series.iloc[:origin], weather))
    started = time.perf_counter()
    for history, weather in inputs:
        forecast_series(history, horizon=DAY, timezone=TIMEZONE, country=COUNTRY, weather=weather)
    elapsed = time.perf_counter() - started
    return {
        "sites": n_sites,
        "seconds": round(elapsed, 2),
        "per_site_ms": round(1000 * elapsed / n_sites, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few sites and days only")
    parser.add_argument("--sites", type=int, default=100, help="sites timed (default 100)")
    parser.add_argument("--eval-sites", type=int, default=24, help="synthetic sites evaluated")
    parser.add_argument("--sim-sites", type=int, default=9, help="simulator sites evaluated")
    parser.add_argument("--days", type=int, default=14, help="rolling origins per site")
    parser.add_argument("--weeks", type=int, default=8, help="weeks of history")
    parser.add_argument(
        "--weather-error",
        choices=("typical", "pessimistic"),
        default="typical",
        help="size of the weather-forecast errors (pessimistic: see PESSIMISTIC)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sites, args.eval_sites, args.sim_sites, args.days = 10, 4, 3, 3
    pessimistic = args.weather_error == "pessimistic"
    synthetic = evaluate(
        args.eval_sites, args.weeks, args.days, simulated=False, pessimistic=pessimistic
    )
    simulator = evaluate(
        args.sim_sites, args.weeks, args.days, simulated=True, pessimistic=pessimistic
    )
    timing = time_fleet(args.sites, args.weeks)
    result: dict[str, object] = {
        "synthetic": synthetic,
        "simulator": simulator,
        "timing": timing,
    }
    checks = {}
    for name, acc in (("synthetic", synthetic), ("simulator", simulator)):
        checks[f"{name}_error_25pct_lower"] = (
            acc["mase_reduction_pct"] >= 25  # type: ignore[operator]
            and acc["mape_reduction_pct"] >= 25  # type: ignore[operator]
        )
        checks[f"{name}_coverage80_in_75_85"] = 75 <= acc["coverage80_pct"] <= 85  # type: ignore[operator]
        checks[f"{name}_coverage95_in_92_97"] = 92 <= acc["coverage95_pct"] <= 97  # type: ignore[operator]
    checks["100_sites_under_60s"] = timing["seconds"] * 100 / timing["sites"] < 60  # type: ignore[operator]
    result["targets_met"] = checks
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
