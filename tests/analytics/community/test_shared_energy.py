"""Hourly shared energy: hour by hour (never from daily totals), per substation, with the hours
whose data are missing listed and the coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.community.configuration import Plant, Pod
from gridpilot.analytics.community.shared_energy import shared_energy, to_hourly
from gridpilot.core.errors import ValidationFailed

START = pd.Timestamp("2025-06-02T00:00Z")
PV = Plant(power_kw=50, commissioned_on=pd.Timestamp("2024-05-01").date())


def pod(code: str, substation: str = "AC001", *, plant: bool = False, eligible: bool = True) -> Pod:
    return Pod(code, f"m-{code}", substation, "NORD", eligible, PV if plant else None)


def frames(hours: int, injected: dict, withdrawn: dict, freq: str = "h"):
    index = pd.date_range(START, periods=hours * (4 if freq == "15min" else 1), freq=freq)
    return pd.DataFrame(injected, index=index), pd.DataFrame(withdrawn, index=index)


def test_shared_energy_is_hourly_and_smaller_than_the_minimum_of_daily_totals():
    # producer injects 4 kWh at noon and nothing in the evening; the consumer draws 1 then 3.
    # hour by hour: min(4, 1) + min(0, 3) = 1 kWh; from the day's totals: min(4, 4) = 4 kWh.
    inj, wd = frames(2, {"P": [4.0, 0.0], "C": [0.0, 0.0]}, {"P": [0.0, 0.0], "C": [1.0, 3.0]})
    pods = [pod("P", plant=True), pod("C")]
    result = shared_energy(to_hourly(inj, wd, START, START + pd.Timedelta(hours=2)), pods)
    assert result.shared_kwh[:, 0].tolist() == [1.0, 0.0]
    assert result.total_kwh("AC001") == pytest.approx(1.0)
    daily_min = min(inj.to_numpy().sum(), wd.to_numpy().sum())
    assert daily_min == 4.0 and result.total_kwh("AC001") < daily_min


def test_quarter_hours_are_summed_into_their_hour():
    quarters_in = {"P": [1.0, 2.0, 3.0, 4.0], "C": [0.0] * 4}  # 10 kWh in the hour
    quarters_out = {"P": [0.0] * 4, "C": [0.5, 0.5, 0.5, 5.0]}  # 6.5 kWh in the hour
    inj, wd = frames(1, quarters_in, quarters_out, freq="15min")
    hourly = to_hourly(inj, wd, START, START + pd.Timedelta(hours=1))
    result = shared_energy(hourly, [pod("P", plant=True), pod("C")])
    assert result.injected_kwh[0, 0] == 10.0 and result.withdrawn_kwh[0, 0] == 6.5
    assert result.shared_kwh[0, 0] == 6.5  # min over the hour, not per quarter (5.5)


def test_substations_never_share_with_each_other():
    inj, wd = frames(1, {"P": [5.0], "C": [0.0]}, {"P": [0.0], "C": [5.0]})
    pods = [pod("P", "AC001", plant=True), pod("C", "AC002")]
    result = shared_energy(to_hourly(inj, wd, START, START + pd.Timedelta(hours=1)), pods)
    assert result.groups == ("AC001", "AC002")
    assert result.shared_kwh.tolist() == [[0.0, 0.0]]
    together = [pod("P", "AC001", plant=True), pod("C", "AC001")]
    assert (
        shared_energy(to_hourly(inj, wd, START, START + pd.Timedelta(hours=1)), together).total_kwh(
            "AC001"
        )
        == 5.0
    )


def test_ineligible_pods_do_not_count():
    inj, wd = frames(1, {"P": [5.0], "C": [0.0]}, {"P": [0.0], "C": [5.0]})
    pods = [pod("P", plant=True), pod("C", eligible=False)]
    result = shared_energy(to_hourly(inj, wd, START, START + pd.Timedelta(hours=1)), pods)
    assert result.withdrawn_kwh[0, 0] == 0.0 and result.shared_kwh[0, 0] == 0.0


def test_missing_hours_are_listed_and_lower_the_coverage():
    # 4 hours at 15 min; one quarter of hour 1 missing (NaN) and the rows of hour 3 absent.
    inj, wd = frames(
        4, {"P": [2.0] * 16, "C": [0.0] * 16}, {"P": [0.0] * 16, "C": [1.0] * 16}, "15min"
    )
    wd.iloc[5, 1] = np.nan
    inj, wd = inj.iloc[:12], wd.iloc[:12]
    hourly = to_hourly(inj, wd, START, START + pd.Timedelta(hours=4))
    result = shared_energy(hourly, [pod("P", plant=True), pod("C")])
    hour = pd.Timedelta(hours=1)
    assert result.missing_hours["AC001"] == [START + hour, START + 3 * hour]
    assert result.coverage["AC001"] == 0.5
    assert np.isnan(result.shared_kwh[1, 0]) and np.isnan(result.shared_kwh[3, 0])
    assert result.total_kwh("AC001") == pytest.approx(8.0)  # two complete hours of 4 kWh


def test_a_step_that_does_not_divide_the_hour_is_refused():
    index = pd.date_range(START, periods=3, freq="25min")
    frame = pd.DataFrame({"P": [1.0, 1.0, 1.0]}, index=index)
    with pytest.raises(ValidationFailed, match="does not divide the hour"):
        to_hourly(frame, frame, START, START + pd.Timedelta(hours=1))


def test_negative_energy_is_refused():
    inj, wd = frames(1, {"P": [-1.0]}, {"P": [0.0]})
    with pytest.raises(ValidationFailed, match="negative"):
        to_hourly(inj, wd, START, START + pd.Timedelta(hours=1))
