"""Physical bounds of site forecasts against hand-checked and reference values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from gridpilot.analytics.forecast import Forecast
from gridpilot.analytics.forecast_bounds import (
    bound_forecast,
    generation_ceiling,
    is_exact,
    net_forecast,
    night_from_history,
    solar_night,
    zero_forecast,
)
from gridpilot.core.errors import ValidationFailed

QUARTER = 15 * 60_000
BARI = (41.1171, 16.8719)


def quarters(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="15min", tz="UTC")


def forecast(yhat, lo80, hi80, lo95, hi95, calibration_errors=100) -> Forecast:
    arrays = [np.asarray(v, dtype="float64") for v in (yhat, lo80, hi80, lo95, hi95)]
    index = quarters("2026-06-21", len(arrays[0]))
    return Forecast(index, *arrays, QUARTER, ("daily",), (), calibration_errors)


def test_solar_night_follows_pvlib_sunrise_and_sunset_in_bari() -> None:
    day = pd.DatetimeIndex([pd.Timestamp("2026-06-21", tz="UTC")])
    reference = pvlib.solarposition.sun_rise_set_transit_spa(day, *BARI)
    sunrise, sunset = reference["sunrise"].iloc[0], reference["sunset"].iloc[0]
    # by hand: cos H = (sin -0.833 - sin 41.12 sin 23.44) / (cos 41.12 cos 23.44) = -0.399, so
    # H = 113.5 deg = 7 h 34 min either side of solar noon, 12:00 - 16.87 deg x 4 min + 1.7 min
    # (equation of time) = 10:54 UTC: sunrise 03:20, sunset 18:28 UTC
    assert pd.Timestamp("2026-06-21 03:18Z") < sunrise < pd.Timestamp("2026-06-21 03:22Z")
    assert pd.Timestamp("2026-06-21 18:26Z") < sunset < pd.Timestamp("2026-06-21 18:30Z")
    index = quarters("2026-06-21", 96)
    night = solar_night(index, QUARTER, *BARI)
    ends = index + pd.Timedelta(minutes=15)
    # night exactly where the whole quarter lies before sunrise or after sunset
    assert (night == ((ends <= sunrise) | (index >= sunset))).all()
    assert night[index.get_loc(pd.Timestamp("2026-06-21 03:00Z"))]
    assert not night[index.get_loc(pd.Timestamp("2026-06-21 03:15Z"))]
    assert night[index.get_loc(pd.Timestamp("2026-06-21 18:30Z"))]
    assert not night[index.get_loc(pd.Timestamp("2026-06-21 18:15Z"))]
    assert night.sum() == 96 - 61  # quarters 03:15 .. 18:15 see the sun


def test_solar_night_at_the_equator_on_the_equinox_and_bad_places() -> None:
    index = pd.DatetimeIndex(["2026-03-20 00:00Z", "2026-03-20 12:00Z", "2026-03-20 23:00Z"])
    assert solar_night(index, QUARTER, 0.0, 0.0).tolist() == [True, False, True]
    polar_day = solar_night(quarters("2026-06-21", 96), QUARTER, 78.2, 15.6)  # Svalbard
    assert not polar_day.any()
    with pytest.raises(ValidationFailed):
        solar_night(index, QUARTER, 91.0, 0.0)


def test_night_from_history_needs_about_zero_on_every_observed_day() -> None:
    index = pd.date_range("2026-05-01", periods=10 * 24, freq="h", tz="UTC")
    hour = np.asarray(index.hour)
    values = np.where((hour >= 6) & (hour < 20), 50.0, 0.0)
    values[(hour == 5)] = 0.0001  # within 0.5 % of the maximum (0.25 kW): about zero
    values[(hour == 6)] = 0.0
    values[30] = 5.0  # one morning at 06:00 with 5 kW: 06:00 is not night
    values[(hour == 23)] = np.nan  # never observed: not night
    history = pd.Series(values, index=index)
    future = pd.date_range("2026-05-11", periods=24, freq="h", tz="UTC")
    night = night_from_history(history, future)
    assert np.flatnonzero(night).tolist() == [0, 1, 2, 3, 4, 5, 20, 21, 22]
    assert not night_from_history(history.iloc[: 5 * 24], future).any()  # 5 days < 7


def test_generation_ceiling_by_day_and_night() -> None:
    night = np.array([True, False, True])
    assert generation_ceiling(night, 1200.0, 0.0).tolist() == [0.0, 1200.0, 0.0]
    assert generation_ceiling(night, 1200.0, 300.0).tolist() == [300.0, 1200.0, 300.0]
    assert generation_ceiling(night, None, 0.0).tolist() == [0.0, np.inf, 0.0]
    assert generation_ceiling(night, 500.0, None).tolist() == [500.0, 500.0, 500.0]


def test_bound_forecast_clips_the_point_and_every_band() -> None:
    raw = forecast(
        yhat=[-190.0, 50.0, 1100.0],
        lo80=[-250.0, 30.0, 1000.0],
        hi80=[300.0, 80.0, 1300.0],
        lo95=[-300.0, 10.0, 900.0],
        hi95=[400.0, 90.0, 1392.0],
    )
    bounded = bound_forecast(raw, 0.0, np.array([0.0, 1200.0, 1200.0]))
    assert bounded.yhat.tolist() == [0.0, 50.0, 1100.0]
    assert bounded.lo95.tolist() == [0.0, 10.0, 900.0]
    assert bounded.hi80.tolist() == [0.0, 80.0, 1200.0]
    assert bounded.hi95.tolist() == [0.0, 90.0, 1200.0]
    assert bounded.calibration_errors == 100 and bounded.index.equals(raw.index)
    with pytest.raises(ValidationFailed):
        bound_forecast(raw, 10.0, 5.0)


def test_net_forecast_subtracts_points_and_adds_band_widths_in_quadrature() -> None:
    consumption = forecast([10.0], [7.0], [13.0], [5.0], [16.0])
    generation = forecast([4.0], [0.0], [8.0], [0.0], [12.0], calibration_errors=40)
    net = net_forecast(consumption, generation)
    assert net.yhat.tolist() == [6.0]
    assert net.hi80.tolist() == [6.0 + 5.0]  # sqrt(3^2 + 4^2): consumption up, generation down
    assert net.lo80.tolist() == [6.0 - 5.0]  # sqrt(3^2 + 4^2)
    assert net.hi95 == pytest.approx([6.0 + np.hypot(6.0, 4.0)])
    assert net.lo95 == pytest.approx([6.0 - np.hypot(5.0, 8.0)])
    assert net.calibration_errors == 40


def test_a_zero_forecast_is_exact_and_leaves_the_net_to_its_partner() -> None:
    consumption = forecast([10.0], [7.0], [13.0], [5.0], [16.0])
    zero = zero_forecast(consumption.index, QUARTER)
    assert is_exact(zero) and not is_exact(consumption)
    net = net_forecast(consumption, zero)
    assert net.yhat.tolist() == [10.0] and net.hi95.tolist() == [16.0]
    assert net.calibration_errors == 100
    with pytest.raises(ValidationFailed):
        net_forecast(consumption, zero_forecast(quarters("2026-01-01", 1), QUARTER))
