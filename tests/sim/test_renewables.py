"""PV (pvlib), wind power curve, battery SOC and efficiency, EV charging sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR, grid
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.model import Overrides
from gridpilot.sim.solar import PvPlant, solar_elevation_deg
from gridpilot.sim.storage_devices import Battery, EvCharger
from gridpilot.sim.wind import WindTurbine, power_fraction

LAT, LON = 44.418, 12.204


def test_pv_is_zero_at_night_and_within_the_inverter_limit():
    plant = PvPlant(LAT, LON, dc_kw=1440, ac_kw=1200)
    t, out = run(plant, JUNE_MONDAY, 3, ctx("pv", lat=LAT, lon=LON))
    night = solar_elevation_deg(t, LAT, LON) < -1
    assert night.any() and np.all(out["power_kw"][night] == 0)
    assert out["power_kw"].max() <= 1200 and out["power_kw"].max() > 400


@pytest.mark.filterwarnings("ignore:.*dayofyear")  # inside pvlib 0.16
def test_clear_sky_pv_matches_pvlib():
    """Horizontal plant, clear sky: AC = PVWatts of pvlib's Ineichen GHI (before clipping)."""
    plant = PvPlant(LAT, LON, dc_kw=100, ac_kw=1000, tilt_deg=0, clear=True)
    t = grid(JUNE_MONDAY, JUNE_MONDAY + MS_PER_DAY, 600_000)
    out = plant.simulate(t, ctx("pv", lat=LAT, lon=LON))
    times = pd.DatetimeIndex(pd.to_datetime(t, unit="ms", utc=True))
    ghi = (
        pvlib.location.Location(LAT, LON).get_clearsky(times, linke_turbidity=3.0)["ghi"].to_numpy()
    )
    expected_dc_w = 100_000 * ghi / 1000 * (1 + -0.004 * (out["temperature_c"] - 25)) * 0.86
    expected_kw = pvlib.inverter.pvwatts(expected_dc_w, 1000_000 / 0.96, 0.96) / 1000
    day = ghi > 200
    np.testing.assert_allclose(out["power_kw"][day], expected_kw[day], rtol=0.01)
    assert np.all(out["power_kw"][ghi == 0] == 0)
    np.testing.assert_allclose(out["irradiance_wm2"], ghi, atol=1.0)


def test_clouds_reduce_pv_and_power_limit_curtails():
    clear = PvPlant(LAT, LON, 1440, 1200, clear=True)
    cloudy = PvPlant(LAT, LON, 1440, 1200)
    _, a = run(clear, JUNE_MONDAY, 5, ctx("pv", lat=LAT, lon=LON))
    _, b = run(cloudy, JUNE_MONDAY, 5, ctx("pv", lat=LAT, lon=LON))
    assert b["power_kw"].sum() < a["power_kw"].sum()
    limited = ctx("pv", lat=LAT, lon=LON)
    limited.overrides = Overrides(power_limit_kw=300)
    _, c = run(clear, JUNE_MONDAY, 1, limited)
    assert c["power_kw"].max() == pytest.approx(300)


def test_wind_power_curve():
    assert power_fraction(np.array([2.0, 3.0, 13.0, 20.0, 26.0])).tolist() == [0, 0.004, 1, 1, 0]
    _t, out = run(WindTurbine(2000), JUNE_MONDAY, 10, ctx("wtg"))
    assert out["power_kw"].min() >= 0 and out["power_kw"].max() <= 2000
    assert 0.1 < out["power_kw"].mean() / 2000 < 0.6  # a plausible capacity factor
    np.testing.assert_allclose(out["power_kw"], 2000 * power_fraction(out["wind_speed_ms"]))


def test_battery_respects_soc_limits_and_loses_energy():
    battery = Battery()
    context = ctx("battery")
    accumulator = Accumulator()
    _t, values = generate(
        battery,
        context,
        JUNE_MONDAY,
        JUNE_MONDAY + 5 * MS_PER_DAY,
        step_ms=None,
        accumulator=accumulator,
    )
    assert values["soc_pct"].min() >= 10 - 1e-9 and values["soc_pct"].max() <= 90 + 1e-9
    assert values["soc_pct"].max() > 85 and values["soc_pct"].min() < 15  # it does cycle
    assert np.abs(values["power_kw"]).max() <= 500
    charged, discharged = accumulator.values["energy_kwh"], accumulator.values["energy_export_kwh"]
    eta = 0.92**0.5
    stored_kwh = (context.state["soc_pct"] - 50.0) / 100 * 1000  # started at 50 %
    assert charged * eta - discharged / eta == pytest.approx(stored_kwh, abs=1.0)


def test_ev_sessions_charge_at_rated_power_on_weekdays():
    charger = EvCharger(22.0)
    context = ctx("ev")
    t, out = run(charger, JUNE_MONDAY, 7, context)
    sessions = charger.sessions(context, JUNE_MONDAY // MS_PER_DAY, JUNE_MONDAY // MS_PER_DAY + 6)
    assert len(sessions) >= 8
    charging = out["power_kw"] > 0
    assert out["power_kw"][charging].min() > 21 and out["power_kw"].max() <= 22
    assert out["session_count"].sum() == len(sessions)
    weekday_kwh = out["power_kw"][t < JUNE_MONDAY + 5 * MS_PER_DAY].sum() / 60 / 5
    weekend_kwh = out["power_kw"][t >= JUNE_MONDAY + 5 * MS_PER_DAY].sum() / 60 / 2
    assert weekday_kwh > weekend_kwh
    for start, end in sessions:
        assert 5 * MS_PER_HOUR <= start % MS_PER_DAY <= 23 * MS_PER_HOUR or end > start
