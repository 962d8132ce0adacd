"""Demo profiles: physically sensible shapes (PV dark at night, shifts, compressor bands)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridpilot.sim import profiles


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_solar_elevation_matches_reference_values():
    # Bologna (44.49 N, 11.34 E): about 68.6 deg at solar noon on the June solstice, ~22 deg
    # at the December solstice; below the horizon at midnight.
    june_noon = ms("2026-06-21T11:15:00")  # solar noon is ~45 min before 12:00 UTC at 11.34 E
    assert profiles.solar_elevation_deg(june_noon, 44.49, 11.34) == pytest.approx(68.9, abs=1.0)
    december_noon = ms("2026-12-21T11:15:00")
    assert profiles.solar_elevation_deg(december_noon, 44.49, 11.34) == pytest.approx(22.1, abs=1.0)
    assert profiles.solar_elevation_deg(ms("2026-06-21T23:15:00"), 44.49, 11.34) < 0


def test_pv_is_zero_at_night_and_never_above_capacity():
    for hour in range(24):
        t = ms(f"2026-06-21T{hour:02d}:00:00")
        power, ghi = profiles.pv_power_kw(t, capacity_kw=500, latitude_deg=44.5, longitude_deg=11.3)
        assert 0 <= power <= 500
        if hour in (0, 1, 2, 22, 23):
            assert power == 0 and ghi == 0
    noon, _ = profiles.pv_power_kw(
        ms("2026-06-21T11:00:00"), capacity_kw=500, latitude_deg=44.5, longitude_deg=11.3
    )
    assert noon > 200


def test_factory_day_shift_above_night_and_weekend_lower():
    monday_day = profiles.factory_load_kw(ms("2026-11-23T09:00:00"), base_kw=100, peak_kw=500)
    monday_night = profiles.factory_load_kw(ms("2026-11-23T02:00:00"), base_kw=100, peak_kw=500)
    sunday_day = profiles.factory_load_kw(ms("2026-11-22T09:00:00"), base_kw=100, peak_kw=500)
    assert monday_day > monday_night > 100 * 0.95
    assert sunday_day < monday_night
    assert monday_day == pytest.approx(500, rel=0.06)


def test_compressor_stays_in_its_pressure_band():
    for second in range(0, 1200, 7):
        power, pressure = profiles.compressor_kw_and_bar(second * 1000, rated_kw=75)
        assert 6.0 <= pressure <= 8.0
        assert power in (pytest.approx(75 * 0.95), pytest.approx(75 * 0.25))
