"""Physical generation models and their forecasts against pvlib's own results, hand-computed
power curves and the physical bounds (night = 0, never below 0, never above the capacity)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from gridpilot.analytics.generation_forecast import (
    LEVELS,
    MIN_PAIRS,
    clear_sky_index,
    fit_state_model,
    forecast_state,
    lag_block,
    pv_bands,
    smoothed,
    state_quantiles,
    weather_baseline,
)
from gridpilot.analytics.generation_physics import (
    GAMMA_PER_K,
    INVERTER_EFFICIENCY,
    LINKE_TURBIDITY,
    SYSTEM_LOSSES,
    PowerCurve,
    PvArray,
    clear_sky_potential_kw,
    generic_curve,
    parse_power_curve,
    power_curve_kw,
    pv_power_kw,
)
from gridpilot.core.errors import ValidationFailed

QUARTER = 15 * 60_000
BARI = (41.1171, 16.8719)


def quarters(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="15min", tz="UTC")


def test_clear_sky_potential_is_pvlibs_chain_at_an_instant() -> None:
    """At 2026-06-21 10:52:30 UTC (about solar noon in Bari), 100 kWp tilted 25 deg facing
    south-south-west: pvlib's Ineichen clear sky, isotropic plane of array, SAPM cell
    temperature and PVWatts DC, called here directly, give the same power."""
    array = PvArray(*BARI, dc_kw=100.0, ac_kw=90.0, tilt_deg=25.0, azimuth_deg=200.0)
    at = pd.DatetimeIndex([pd.Timestamp("2026-06-21T10:52:30Z")])
    got = clear_sky_potential_kw(array, at, 6)[0]  # a 6 ms interval: its samples are "at"
    location = pvlib.location.Location(*BARI, altitude=0.0)
    sun = location.get_solarposition(at)
    sky = location.get_clearsky(at, solar_position=sun, linke_turbidity=LINKE_TURBIDITY)
    poa = pvlib.irradiance.get_total_irradiance(
        25.0, 200.0, sun["apparent_zenith"], sun["azimuth"], sky["dni"], sky["ghi"], sky["dhi"]
    )["poa_global"].iloc[0]
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell = pvlib.temperature.sapm_cell(poa, 20.0, 1.0, **params)
    dc_w = pvlib.pvsystem.pvwatts_dc(poa, cell, 100_000.0, GAMMA_PER_K)
    expected_kw = dc_w * (1 - SYSTEM_LOSSES) * INVERTER_EFFICIENCY / 1000
    assert got == pytest.approx(expected_kw, rel=1e-6)
    # by hand: a plane facing the noon sun gets about 1,000 W/m2, cells near 49 degC lose
    # 0.4 %/K x 24 K, then 14 % losses and 96 %: about 0.74 kW per kWp
    assert 900 < poa < 1050 and 68.0 < got < 80.0


def test_clear_sky_day_is_zero_at_night_and_sized_by_hand() -> None:
    array = PvArray(*BARI, dc_kw=1.0, ac_kw=1.0)
    index = quarters("2026-06-21", 96)
    potential = clear_sky_potential_kw(array, index, QUARTER)
    reference = pvlib.solarposition.sun_rise_set_transit_spa(index[:1], *BARI)
    sunrise, sunset = reference["sunrise"].iloc[0], reference["sunset"].iloc[0]
    dark = (index + pd.Timedelta(minutes=15) <= sunrise) | (index >= sunset)
    assert (potential[dark] == 0.0).all() and (potential[~dark] > 0).all()
    # a clear June day in southern Italy, 30 deg south: about 7 kWh/kWp of sun on the plane,
    # 6 after losses (PVGIS gives 6-7 kWh/kWp for a clear day there)
    assert 5.5 < potential.sum() * 0.25 < 6.8
    # the interval that holds the sunrise is partly lit: less than the next one
    first = int(np.flatnonzero(potential)[0])
    assert potential[first] < potential[first + 1]


def test_geometry_moves_the_day() -> None:
    index = quarters("2026-03-20", 96)
    east = clear_sky_potential_kw(PvArray(*BARI, 1.0, 1.0, 30.0, 90.0), index, QUARTER)
    west = clear_sky_potential_kw(PvArray(*BARI, 1.0, 1.0, 30.0, 270.0), index, QUARTER)
    hours = np.asarray(index.hour)
    assert east[hours < 9].sum() > 2 * west[hours < 9].sum()
    assert west[hours >= 13].sum() > 2 * east[hours >= 13].sum()


def test_pv_power_is_capped_at_the_inverter() -> None:
    array = PvArray(*BARI, dc_kw=120.0, ac_kw=100.0)
    power = pv_power_kw(array, np.array([1.2, 0.5, -1.0, np.nan]), np.full(4, 110.0))
    assert power.tolist() == [100.0, 55.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dc_kw": 0.0},
        {"ac_kw": -1.0},
        {"tilt_deg": 95.0},
        {"azimuth_deg": 400.0},
        {"latitude_deg": 91.0},
    ],
)
def test_a_nonsense_array_is_refused(kwargs: dict[str, float]) -> None:
    values = {"latitude_deg": 41.0, "longitude_deg": 16.0, "dc_kw": 1.0, "ac_kw": 1.0} | kwargs
    with pytest.raises(ValidationFailed):
        PvArray(**values)


def test_generic_power_curve_by_hand() -> None:
    curve = generic_curve(2000.0)
    speeds = np.array([0.0, 2.0, 3.0, 8.0, 8.5, 12.5, 13.0, 20.0, 25.0, 25.5, np.nan])
    # 8.5 m/s: halfway between 0.39 and 0.55 of 2 MW = 940 kW; 12.5: (0.96 + 1) / 2 -> 1,960
    expected = [0, 0, 8, 780, 940, 1960, 2000, 2000, 2000, 0, np.nan]
    np.testing.assert_allclose(power_curve_kw(curve, speeds), expected, atol=1e-9)


def test_a_manufacturers_curve_is_read_and_checked() -> None:
    curve = parse_power_curve([[3, 0], [10, 1500], [12, 3000], [25, 3000]], 3000.0)
    assert power_curve_kw(curve, np.array([11.0, 30.0])).tolist() == [2250.0, 0.0]
    bad = [
        "fast",
        [[3, 0], [3, 10]],  # speeds must increase
        [[3, 0], [10, 4000]],  # above the rating
        [[3, 0], [10, -1]],
        [[3, 0, 1], [10, 5]],
        [["a", 0], [10, 5]],
        [[3, 0]],
    ]
    for raw in bad:
        with pytest.raises(ValidationFailed):
            parse_power_curve(raw, 3000.0)
    with pytest.raises(ValidationFailed):
        PowerCurve((0.0, 1.0), (0.0, 1.0), 0.0)


def test_lag_blocks_double() -> None:
    lags = np.array([1, 2, 3, 4, 5, 8, 9, 16, 17, 96])
    assert lag_block(lags).tolist() == [0, 1, 2, 2, 3, 3, 4, 4, 5, 7]


def test_smoothing_skips_unobserved_steps() -> None:
    state = np.array([1.0, np.nan, 3.0, np.nan, np.nan, 5.0, 7.0, 9.0, 11.0])
    out = smoothed(state, width=2)
    np.testing.assert_allclose(out, [1, np.nan, 2, np.nan, np.nan, 4, 6, 8, 10])


def test_white_noise_has_no_memory_and_normal_quantiles() -> None:
    rng = np.random.default_rng(3)
    state = 10.0 + rng.normal(0.0, 2.0, 20_000)
    model = fit_state_model(state, 8)
    assert model.mean == pytest.approx(10.0, abs=0.05)
    assert np.all(model.weights < 0.1)
    # 2.5/10/50/90/97.5 % of N(0, 2): -3.92, -2.56, 0, 2.56, 3.92 (the weight ~0 adds little)
    np.testing.assert_allclose(model.quantiles[0, 0], [-3.92, -2.56, 0, 2.56, 3.92], atol=0.15)


def test_a_persistent_state_is_persisted_and_its_bands_cover() -> None:
    """An AR(1) with phi = 0.98 per step: the weight falls with the lag, the bands widen, and
    on a fresh stretch of the same process the 80/95 % bands cover about 80/95 %."""
    rng = np.random.default_rng(5)

    def ar(n: int) -> np.ndarray:
        x = np.zeros(n)
        for i in range(1, n):
            x[i] = 0.98 * x[i - 1] + rng.normal(0.0, 0.2)
        return x

    model = fit_state_model(ar(30_000), 64)
    assert model.weights[0] > 0.8 and model.weights[-1] < model.weights[0]
    widths = model.quantiles[:, 0, 4] - model.quantiles[:, 0, 0]
    assert (np.diff(widths) > 0).all()
    hits = {80: [], 95: []}
    for _ in range(300):
        series = ar(3_000)
        history, future = series[:-16], series[-16:]
        bands = forecast_state(history, 16, lambda v, c: v + 100.0, capacity_kw=1e9)
        hits[80].append(np.mean((future + 100 >= bands.lo80) & (future + 100 <= bands.hi80)))
        hits[95].append(np.mean((future + 100 >= bands.lo95) & (future + 100 <= bands.hi95)))
    assert 0.74 < np.mean(hits[80]) < 0.86 and 0.91 < np.mean(hits[95]) < 0.985


def test_errors_are_quantified_per_group() -> None:
    """A target observed with more noise in group 1 (low sun) gets wider quantiles there, and
    a group's bias (a lower index at low sun) moves its median."""
    rng = np.random.default_rng(9)
    n = 20_000
    state = 1.0 + rng.normal(0.0, 0.1, n)
    groups = (np.arange(n) % 4 == 0).astype("int64")
    target = state + np.where(groups == 1, rng.normal(-0.3, 0.5, n), 0.0)
    model = fit_state_model(state, 2, target, groups, 2)
    quiet, noisy = model.quantiles[0, 0], model.quantiles[0, 1]
    assert noisy[4] - noisy[0] > 3 * (quiet[4] - quiet[0])
    assert noisy[2] == pytest.approx(-0.3, abs=0.05) and quiet[2] == pytest.approx(0, abs=0.01)
    future = np.array([0, 1], dtype="int64")
    rows = state_quantiles(model, 1.0, np.array([1, 1]), future)
    np.testing.assert_allclose(rows[1] - rows[0], noisy - quiet, atol=1e-12)


def test_too_little_history_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="too little history"):
        fit_state_model(np.full(MIN_PAIRS - 1, 1.0), 4)
    with pytest.raises(ValidationFailed, match="too little history"):
        forecast_state(np.full(100, np.nan), 4, lambda v, c: v, 1.0)


def pv_history(days: int, index_of_day: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(power, potential) [kW] of 1 MWp in Bari: each day's clear-sky index from the list."""
    array = PvArray(*BARI, dc_kw=1000.0, ac_kw=1000.0)
    index = quarters("2026-05-01", days * 96)
    potential = clear_sky_potential_kw(array, index, QUARTER)
    k = np.repeat(np.resize(index_of_day, days), 96)
    return np.minimum(1000.0, k * potential), potential


def test_a_clear_sky_history_forecasts_the_clear_sky() -> None:
    power, potential = pv_history(14, [1.0])
    future = clear_sky_potential_kw(
        PvArray(*BARI, 1000.0, 1000.0), quarters("2026-05-15", 96), QUARTER
    )
    bands = pv_bands(power, potential, future, 1000.0)
    np.testing.assert_allclose(bands.yhat, future, atol=1e-6)
    np.testing.assert_allclose(bands.hi95, future, atol=1e-6)  # no error ever seen


def test_pv_bands_respect_night_zero_and_capacity() -> None:
    power, potential = pv_history(21, [1.0, 0.3, 0.8, 1.2, 0.5, 0.9, 0.1])
    future = 1.3 * clear_sky_potential_kw(
        PvArray(*BARI, 1000.0, 1000.0), quarters("2026-05-22", 96), QUARTER
    )
    bands = pv_bands(power, potential, future, 1000.0)
    night = future == 0
    assert night.any()
    for band in (bands.lo95, bands.lo80, bands.yhat, bands.hi80, bands.hi95):
        assert (band[night] == 0).all() and (band >= 0).all() and (band <= 1000.0).all()
    stacked = np.vstack([bands.lo95, bands.lo80, bands.yhat, bands.hi80, bands.hi95])
    assert (np.diff(stacked, axis=0) >= -1e-9).all()
    assert bands.hi95.max() == 1000.0 and bands.lo95[~night].min() < bands.hi95[~night].max()


def test_clear_sky_index_only_where_the_sun_is_up_enough() -> None:
    power, potential = np.array([0.0, 4.0, 50.0, 300.0]), np.array([0.0, 4.0, 100.0, 100.0])
    index = clear_sky_index(power, potential, 100.0)
    assert np.isnan(index[:2]).all() and index[2:].tolist() == [0.5, 2.0]


def test_a_cut_out_band_is_sorted() -> None:
    """Winds near cut-out: the upper quantile's speed maps to 0 kW; each step's values are
    sorted, so the bands stay ordered, all within [0, rated]."""
    curve = generic_curve(2000.0)
    rng = np.random.default_rng(1)
    speeds = 24.0 + rng.normal(0.0, 1.5, 3_000)
    bands = forecast_state(speeds, 8, lambda v, c: power_curve_kw(curve, v), 2000.0)
    stacked = np.vstack([bands.lo95, bands.lo80, bands.yhat, bands.hi80, bands.hi95])
    assert (np.diff(stacked, axis=0) >= 0).all() and stacked.min() >= 0 and stacked.max() <= 2000
    assert (bands.lo95 == 0).all() and (bands.hi95 == 2000).all()
    assert len(LEVELS) == 5


def test_a_weather_forecast_sets_the_baseline() -> None:
    """A measured index that is 0.1 + 0.9 x the weather's index: the baseline is that line;
    a forecast missing a future step, or one that explains nothing, is not used."""
    rng = np.random.default_rng(4)
    weather = rng.uniform(0.2, 1.0, 600)
    state = 0.1 + 0.9 * weather[:500]
    baseline = weather_baseline(state, weather, 100)
    assert baseline is not None
    np.testing.assert_allclose(baseline, 0.1 + 0.9 * weather, atol=1e-9)
    holed = weather.copy()
    holed[550] = np.nan
    assert weather_baseline(state, holed, 100) is None
    assert weather_baseline(state, -weather, 100) is None
    assert weather_baseline(state, None, 100) is None


def test_pv_with_a_weather_forecast_follows_the_forecast_clouds() -> None:
    """History: each day's index is the weather's; tomorrow the forecast says 0.4 after a
    clear day: the point follows the forecast (0.4 x potential), the bands hold the
    persistence's too, all within [0, capacity] and 0 at night."""
    days = [1.0, 0.3, 0.8, 1.0, 0.5, 0.9, 0.6] * 2 + [1.0]
    power, potential = pv_history(len(days), days)
    array = PvArray(*BARI, 1000.0, 1000.0)
    future = clear_sky_potential_kw(array, quarters(f"2026-05-{1 + len(days):02d}", 96), QUARTER)
    weather = np.concatenate([np.repeat(days, 96), np.full(96, 0.4)])
    bands = pv_bands(power, potential, future, 1000.0, weather)
    plain = pv_bands(power, potential, future, 1000.0)
    assert bands.weather and not plain.weather
    lit = future > 0
    np.testing.assert_allclose(bands.yhat[lit], 0.4 * future[lit], rtol=1e-6)
    assert (bands.hi95 >= plain.hi95).all() and (bands.lo95 <= plain.lo95).all()
    assert (bands.hi95[~lit] == 0).all() and bands.hi95.max() <= 1000.0
