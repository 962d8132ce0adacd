"""The data of ``bench/forecast.py``: synthetic loads, simulator sites and weather forecasts.

* Synthetic realistic 15-min load of commercial buildings, factories and households (daily and
  weekly profiles, Italian public holidays, heating/cooling driven by an outdoor temperature
  with synoptic swings, AR(1) noise, occasional outages, drift), generated from a seed; the
  outdoor temperature comes from gridpilot's simulator (``gridpilot.sim.weather``) when it is
  importable, else from the same kind of model here.
* Sites of gridpilot's simulator (``gridpilot.sim``): the factory, the office building and the
  energy community's consumption (``make_sim_site``).

Weather regressors are what a forecaster has at the origin: measurements before it and a
*forecast* after it, made here from the true weather plus an error that grows with the lead
time (``temperature_forecast``, ``irradiance_forecast``), a stand-in for a numerical weather
forecast. Future load is never given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STEP_MS = 15 * 60_000
DAY = 96
WEEK = 7 * DAY
TIMEZONE = "Europe/Rome"
COUNTRY = "IT"
KINDS = ("office", "retail", "factory", "household")
SIM_SCENARIOS = ("factory", "building", "community")
_PRODUCERS = ("PvPlant", "WindTurbine", "Battery")

#: ``--weather-error pessimistic``: errors of a poor day-ahead forecast, each a smooth error
#: (a new value every 3 h, linearly interpolated) plus a bias for the day, both with these sd:
#: temperature 1.5 / 1.0 degC, cloud factor 0.25 / 0.10.
PESSIMISTIC = {"temp_sd": 1.5, "temp_bias_sd": 1.0, "cloud_sd": 0.25, "cloud_bias_sd": 0.10}
#: Growth of a weather forecast's error after its first day: a smooth error (new value every
#: 12 h) whose sd grows by this much per day of lead beyond the first: 2.4 degC and 0.30 of the
#: cloud factor at day 7, about the skill of a numerical forecast a week out.
TEMP_GROWTH_C_PER_DAY = 0.4
CLOUD_GROWTH_PER_DAY = 0.05


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


def _shape(kind: str, hour: np.ndarray, dow: np.ndarray, off: np.ndarray, rng) -> tuple:
    """(relative profile, HVAC gain) of a kind of site."""
    if kind == "office":
        open_ = (hour >= 7.5 + rng.uniform(-0.5, 0.5)) & (hour < 19) & ~off & (dow < 5)
        shape = 0.35 + 0.65 * open_ * (1 - 0.15 * np.exp(-((hour - 13) ** 2) / 2))
        return np.where(dow == 5, 0.4 + 0.1 * ((hour > 9) & (hour < 13)), shape), 1.0
    if kind == "retail":
        open_ = (hour >= 9) & (hour < 21) & ~off
        shape = 0.3 + 0.7 * open_ * (0.8 + 0.2 * np.sin(np.pi * (hour - 9) / 12))
        return np.where(dow == 5, shape * 1.15, shape), 0.8
    if kind == "factory":
        shift = np.where(
            (hour >= 6) & (hour < 14), 1.0, np.where((hour >= 14) & (hour < 22), 0.8, 0.45)
        )
        shift = np.where(dow >= 5, 0.3, shift)
        return np.where(off, 0.25, shift), 0.3
    shape = (  # household: morning and evening peaks, very noisy
        0.25
        + 0.35 * np.exp(-((hour - 7.5) ** 2) / 1.5)
        + 0.6 * np.exp(-((hour - 20) ** 2) / 4)
        + 0.15 * (off | (dow >= 5)) * ((hour > 9) & (hour < 18))
    )
    return shape, 0.6


def site_load_kw(index: pd.DatetimeIndex, temp: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """Synthetic 15-min site load [kW] of ``kind`` (see module docstring)."""
    import holidays

    rng = np.random.default_rng(seed)
    local = index.tz_convert(TIMEZONE)
    hour = np.asarray(local.hour + local.minute / 60, dtype="float64")
    dow = np.asarray(local.day_of_week)
    hol = holidays.country_holidays(COUNTRY, years=sorted(set(local.year)))
    off = np.isin(np.asarray(local.date), list(hol.keys())) | (dow == 6)
    scale = rng.uniform(50, 500)
    shape, hvac_gain = _shape(kind, hour, dow, off, rng)
    if kind == "household":
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


def smooth_error(
    rng: np.random.Generator, n: int, sd: float, bias_sd: float, knot_steps: int = 12
) -> np.ndarray:
    """``n`` 15-min steps of an error with a new value every ``knot_steps`` (sd ``sd``,
    linearly interpolated) plus one bias for all of them (sd ``bias_sd``)."""
    knots = rng.normal(0, sd, n // knot_steps + 2)
    steps = np.arange(n) / knot_steps
    return np.interp(steps, np.arange(len(knots)), knots) + rng.normal(0, bias_sd)


def growth(n: int, per_day: float) -> np.ndarray:
    """Scale of the extra error at lead steps 1..``n``: 0 over the first day, then
    ``per_day`` more for each further day of lead."""
    lead_days = np.arange(1, n + 1) / DAY
    return per_day * np.maximum(0.0, lead_days - 1.0)


def temperature_forecast(
    temp: np.ndarray, origin: int, seed: int, pessimistic: bool = False
) -> np.ndarray:
    """Known temperature [degC] up to ``origin``, then a forecast: about 0.5 degC wrong over the
    first day (``PESSIMISTIC``: a smooth 1.5 degC plus a 1.0 degC bias), and a smooth error
    growing by ``TEMP_GROWTH_C_PER_DAY`` per further day."""
    rng = np.random.default_rng(seed)
    out = temp.copy()
    n = len(temp) - origin
    lead = np.arange(1, n + 1)
    if pessimistic:
        error = smooth_error(rng, n, PESSIMISTIC["temp_sd"], PESSIMISTIC["temp_bias_sd"])
    else:
        error = rng.normal(0, 0.5, n) + 0.02 * lead**0.5 * rng.normal()
    error = error + smooth_error(rng, n, 1.0, 0.0, 48) * growth(n, TEMP_GROWTH_C_PER_DAY)
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


def irradiance_week_forecast(
    clear_ghi: np.ndarray, factor: np.ndarray, origin: int, seed: int, pessimistic: bool = False
) -> np.ndarray:
    """``irradiance_forecast`` whose cloud-factor error grows by ``CLOUD_GROWTH_PER_DAY`` per
    day of lead beyond the first (a smooth error, new every 12 h)."""
    rng = np.random.default_rng(seed + 7)
    n = len(factor) - origin
    extra = smooth_error(rng, n, 1.0, 0.0, 48) * growth(n, CLOUD_GROWTH_PER_DAY)
    moved = factor.copy()
    moved[origin:] = np.clip(factor[origin:] + extra, 0.0, 1.0)
    return irradiance_forecast(clear_ghi, moved, origin, seed, pessimistic)


def weather_frame(
    index: pd.DatetimeIndex,
    truth: dict[str, np.ndarray],
    origin: int,
    rows: tuple[int, int],
    seed: int,
    pessimistic: bool = False,
) -> pd.DataFrame:
    """The regressors a forecaster at ``origin`` has over ``index[rows[0]:rows[1]]``: measured
    weather before ``origin``, forecast weather after it."""
    window = slice(*rows)
    temp = temperature_forecast(truth["temperature_c"], origin, seed, pessimistic)
    columns = {"temperature_c": temp[window]}
    if "clear_ghi_wm2" in truth:
        ghi = irradiance_week_forecast(
            truth["clear_ghi_wm2"], truth["clear_sky_factor"], origin, seed, pessimistic
        )
        columns["irradiance_wm2"] = ghi[window]
    return pd.DataFrame(columns, index=index[window])


def make_site(i: int, n_rows: int) -> tuple[pd.Series, dict[str, np.ndarray], str]:
    """Synthetic site ``i``: ``n_rows`` 15-min loads [kW] from a local midnight between
    2025-09-01 and 2026-03-19, its true weather and its kind."""
    kind = KINDS[i % len(KINDS)]
    first_day = pd.Timestamp("2025-09-01") + pd.Timedelta(days=int(i * 11 % 200))
    start = first_day.tz_localize(TIMEZONE).tz_convert("UTC")
    index = pd.date_range(start, periods=n_rows, freq="15min")
    temp = temperature_c(index, seed=1000 + i)
    load = site_load_kw(index, temp, kind, seed=i)
    return pd.Series(load, index=index), {"temperature_c": temp}, kind


def _sim_models(name: str) -> list[tuple[object, str, str]]:
    """(model, device id, metric) of what a site of scenario ``name`` consumes: the factory's
    machines; the office building's HVAC, lighting, plugs and EV chargers; every community
    member's own consumption (``power_consumed_kw``: the forecaster's task is a site's
    consumption; its PV is forecast from physics)."""
    from gridpilot.sim.scenarios import scenario_sites

    specs = scenario_sites(name)
    chosen = specs if name == "community" else specs[:1]
    metric = "power_consumed_kw" if name == "community" else "power_kw"
    return [
        (asset.model, asset.device_id, metric)
        for spec in chosen
        for asset in spec.assets
        if type(asset.model).__name__ not in _PRODUCERS
    ]


def make_sim_site(i: int, n_rows: int) -> tuple[pd.Series, dict[str, np.ndarray], str]:
    """A site of gridpilot's simulator (``gridpilot.sim``): the summed consumption of its
    consumers (``_sim_models``), each run at its native interval and averaged per 15 min like
    a meter would; seed ``i``. The simulator does not model public holidays, so these sites are
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
    index = pd.date_range(start, periods=n_rows, freq="15min")
    start_ms = index[0].value // 1_000_000
    end_ms = start_ms + len(index) * STEP_MS
    weather = WeatherModel(seed=i, latitude=spec.latitude, longitude=spec.longitude)
    total = np.zeros(len(index))
    for model, device_id, metric in _sim_models(name):
        ctx = SimContext(seed=i, timezone=spec.timezone, weather_model=weather, asset_key=device_id)
        _, values = generate(
            model, ctx, start_ms, end_ms, step_ms=STEP_MS, accumulator=Accumulator()
        )
        total += np.asarray(values[metric], dtype="float64")[: len(index)]
    t_ms = index.as_unit("ms").asi8
    now = weather.at(t_ms)
    truth = {
        "temperature_c": np.asarray(now.temperature_c, dtype="float64"),
        "clear_sky_factor": np.asarray(now.clear_sky_factor, dtype="float64"),
        "clear_ghi_wm2": clear_sky(t_ms, spec.latitude, spec.longitude)[1]["ghi"].to_numpy(),
    }
    return pd.Series(total, index=index), truth, f"sim-{name}"
