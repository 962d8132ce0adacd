"""Factory machines: ranges, intervals, shifts and weekends, leak anomaly, ISO 50001 drivers."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR
from gridpilot.sim.factory import Compressor, Conveyor, Hvac, HydraulicPump, InjectionMolding
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.model import Anomaly

RANGES = [
    (Compressor(), 1.0, 15, 75, {"pressure_bar": (6, 8), "flow_m3h": (100, 500)}),
    (
        Hvac(),
        10.0,
        20,
        150,
        {"supply_temp_c": (7, 8.5), "return_temp_c": (8, 20), "cop": (2.5, 4.0)},
    ),
    (Conveyor(), 10.0, 5, 30, {"speed_pct": (0, 100)}),
    (HydraulicPump(), 30.0, 10, 50, {"pressure_bar": (150, 200)}),
    (InjectionMolding("PA66"), 30.0, 25, 200, {"operating_state": (0, 3)}),
]


@pytest.mark.parametrize(
    ("model", "interval_s", "low", "high", "others"), RANGES, ids=[r[0].kind for r in RANGES]
)
def test_machine_stays_in_its_ranges_at_its_interval(model, interval_s, low, high, others):
    t, out = run(model, JUNE_MONDAY, 7)
    assert model.interval_s == interval_s
    assert np.all(np.diff(t) == interval_s * 1000)
    assert len(out["power_kw"]) == len(t)
    power = out["power_kw"]
    assert power.min() >= low and power.max() <= high
    assert power.max() - power.min() > (high - low) * 0.3  # it really varies over the range
    for metric, (lo, hi) in others.items():
        assert out[metric].min() >= lo - 1e-9 and out[metric].max() <= hi + 1e-9, metric


def daily_energy(model, start_ms: int, days: int) -> np.ndarray:
    t, out = run(model, start_ms, days)
    kwh = out["power_kw"] * model.interval_s / 3600
    return np.array(
        [
            kwh[(t >= start_ms + d * MS_PER_DAY) & (t < start_ms + (d + 1) * MS_PER_DAY)].sum()
            for d in range(days)
        ]
    )


def test_shifts_and_weekends_show_in_energy():
    daily = daily_energy(Conveyor(), JUNE_MONDAY, 7)  # Monday .. Sunday (UTC days)
    assert daily[:5].min() > 1.4 * daily[5] > 1.4 * daily[6] * 0.9
    t, out = run(Conveyor(), JUNE_MONDAY, 1)
    local_hour = ((t - JUNE_MONDAY) / MS_PER_HOUR + 2) % 24  # CEST = UTC+2
    day = out["power_kw"][(local_hour >= 7) & (local_hour < 13)].mean()
    late = out["power_kw"][(local_hour >= 15) & (local_hour < 21)].mean()
    night = out["power_kw"][(local_hour >= 0) & (local_hour < 5)].mean()
    assert day > late > night


def test_hvac_uses_more_in_summer_and_cop_follows_outdoor_temperature():
    from tests.sim.helpers import JANUARY_MONDAY

    summer = daily_energy(Hvac(), JUNE_MONDAY + 50 * MS_PER_DAY, 7).mean()
    winter = daily_energy(Hvac(), JANUARY_MONDAY, 7).mean()
    assert summer > 1.1 * winter
    _, out = run(Hvac(), JUNE_MONDAY + 50 * MS_PER_DAY, 2)
    assert np.corrcoef(out["outdoor_temperature_c"], out["cop"])[0, 1] < -0.9


def test_injected_compressor_leak_shows_as_falling_pressure():
    start = JUNE_MONDAY + 9 * MS_PER_HOUR  # steady day shift
    leak = Anomaly("leak", start + MS_PER_HOUR, 2 * MS_PER_HOUR, 1.0, MS_PER_HOUR)
    context = ctx("compressor")
    context.injected.append(leak)
    _t, out = run(Compressor(), start, 4 / 24, context)
    hourly = out["pressure_bar"].reshape(4, -1).mean(axis=1)
    assert hourly[0] == pytest.approx(7.0, abs=0.1)
    assert hourly[0] > hourly[1] > hourly[2] > hourly[3]
    assert hourly[0] - hourly[3] > 1.2  # 1.5 bar lost at full severity
    assert out["pressure_bar"][-3600:].max() < 7.0  # the band sank below 8 bar
    power = out["power_kw"].reshape(4, -1).mean(axis=1)
    assert power[3] > power[0] * 1.08  # loaded longer to make up for the lost air


def test_spontaneous_anomalies_hit_about_one_day_in_ten():
    context = ctx("compressor", random_anomalies=True)
    days = np.arange(0, 2000) * MS_PER_DAY + JUNE_MONDAY
    hit = context.anomaly_level("leak", days + 23 * MS_PER_HOUR + 59 * 60_000) > 0
    from gridpilot.sim.model import daily_anomalies

    count = len(daily_anomalies(7, "compressor", "leak", days))
    assert 0.07 < count / 2000 < 0.13
    assert hit.sum() > 0


def test_same_seed_same_data_other_seed_other_data():
    for model in (Compressor(), InjectionMolding("ABS"), Hvac()):
        _, a = run(model, JUNE_MONDAY, 0.5, ctx("m", seed=1))
        _, b = run(model, JUNE_MONDAY, 0.5, ctx("m", seed=1))
        _, c = run(model, JUNE_MONDAY, 0.5, ctx("m", seed=2))
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
        assert not np.array_equal(a["power_kw"], c["power_kw"])


@pytest.mark.parametrize(
    "model",
    [InjectionMolding("PC"), InjectionMolding("PP"), Conveyor()],
    ids=["imm-PC", "imm-PP", "conveyor"],
)
def test_regression_of_daily_energy_on_production_finds_the_true_coefficient(model):
    context = ctx(model.kind)
    accumulator = Accumulator()
    energy, units = [], []
    for day in range(28):
        start = JUNE_MONDAY + day * MS_PER_DAY
        _, values = generate(
            model,
            context,
            start,
            start + MS_PER_DAY + 60_000,
            step_ms=60_000 * 0 + MS_PER_DAY,
            accumulator=accumulator,
        )
        energy.append(values["energy_kwh"][0])
        units.append(values["production_count"][0])
    d_energy, d_units = np.diff(energy), np.diff(units)
    fit = sm.OLS(d_energy, sm.add_constant(d_units)).fit()
    assert fit.params[1] == pytest.approx(model.kwh_per_unit, rel=0.05)
    assert fit.rsquared > 0.95


def test_molding_energy_depends_on_material():
    assert InjectionMolding("PA66").kwh_per_unit > InjectionMolding("PP").kwh_per_unit
    assert InjectionMolding("PC").cycle_s == 120


def test_site_regression_finds_production_and_cooling_degree_days_as_drivers():
    """ISO 50001 baseline on the whole simulated factory: daily energy ~ production + CDD.

    The true marginal energy per conveyor unit is the sum over the machines of their power
    sensitivity to the production intensity, divided by the line's units per hour at full rate.
    """
    from datetime import UTC, datetime

    from gridpilot.sim.factory import MATERIALS
    from gridpilot.sim.scenarios import factory

    site = factory()[0]
    start = int(datetime(2026, 5, 4, tzinfo=UTC).timestamp() * 1000)
    days = 35
    energy, units, temperature = np.zeros(days + 1), np.zeros(days + 1), np.zeros(days + 1)
    for spec in site.assets:
        context = ctx(spec.device_id, seed=5)
        _, values = generate(spec.model, context, start, start + (days + 1) * MS_PER_DAY,
                             step_ms=MS_PER_DAY, accumulator=Accumulator())  # fmt: skip
        energy += values["energy_kwh"]
        if spec.model.kind == "motor":
            units = values["production_count"]
        if spec.model.kind == "hvac":
            temperature = values["outdoor_temperature_c"]
    cdd = np.maximum(temperature[:-1] - 16.0, 0.0)
    fit = sm.OLS(np.diff(energy), sm.add_constant(np.column_stack([np.diff(units), cdd]))).fit()

    def molding_kw(material: str) -> float:  # cycle mean above idle
        return 0.35 * MATERIALS[material][1] + 0.15 * 195 + 0.5 * 40 - 25

    per_hour_at_full = (
        25.0  # conveyor: 5 -> 30 kW
        + 75 * 0.96 * 0.65 - 15 * 1.05 * 0.65  # compressor: loaded share +0.65
        + (0.4 * 48 + 0.3 * 30 + 0.3 * 12 - 10)  # hydraulic pump cycles
        + molding_kw("PP") + molding_kw("PC")
        + 120 / 3.6  # HVAC internal gains at a COP of about 3.6 (May-June)
    )  # fmt: skip
    assert fit.params[1] == pytest.approx(per_hour_at_full / 1800, rel=0.05)
    assert fit.pvalues[1] < 1e-6 and fit.pvalues[2] < 1e-3
    assert fit.rsquared > 0.98


def test_hvac_return_water_is_warmer_than_supply_by_a_load_driven_difference():
    t, out = run(Hvac(), JUNE_MONDAY, 7)
    load = (out["power_kw"] - 20.0) / 130.0
    delta = out["return_temp_c"] - out["supply_temp_c"]
    assert delta.min() >= 1.0 and delta.max() <= 9.0  # K
    assert np.corrcoef(load, delta)[0, 1] > 0.9  # more load, wider difference
    assert out["return_temp_c"].max() - out["return_temp_c"].min() > 3.0  # not pinned
    local_hour = ((t - JUNE_MONDAY) / MS_PER_HOUR + 2) % 24
    weekday_shift = (t < JUNE_MONDAY + 5 * MS_PER_DAY) & (local_hour > 8) & (local_hour < 12)
    sunday_night = (t >= JUNE_MONDAY + 6 * MS_PER_DAY) & (local_hour > 1) & (local_hour < 5)
    assert (
        out["return_temp_c"][weekday_shift].mean() > out["return_temp_c"][sunday_night].mean() + 1
    )


def test_machines_count_operating_hours_while_on_and_report_their_mode():
    """Operating hours: an hour per hour switched on, none while stopped; a stopped conveyor's
    mode is off, a running one's production or idle by its speed."""
    model, context = Conveyor(), ctx("conveyor")
    accumulator = Accumulator()
    _, running = generate(
        model, context, JUNE_MONDAY, JUNE_MONDAY + 2 * MS_PER_HOUR, step_ms=MS_PER_HOUR,
        accumulator=accumulator,
    )  # fmt: skip
    assert "_on" not in running  # feeds the register only
    assert accumulator.values["operating_hours"] == pytest.approx(2.0)
    assert set(running["operating_mode"]) <= {1.0, 2.0}
    context.overrides.running = False
    _, stopped = generate(
        model, context, JUNE_MONDAY + 2 * MS_PER_HOUR, JUNE_MONDAY + 3 * MS_PER_HOUR,
        step_ms=MS_PER_HOUR, accumulator=accumulator,
    )  # fmt: skip
    assert accumulator.values["operating_hours"] == pytest.approx(2.0)
    assert stopped["operating_mode"].tolist() == [0.0] and stopped["throughput_uph"][0] == 0


def test_molding_reports_its_recipe_and_wet_material_costs_heating_energy():
    _, out = run(InjectionMolding("PC"), JUNE_MONDAY, 2)
    assert set(out["recipe"]) == {2.0}  # PC is the third of MATERIALS
    moisture = out["material_moisture_pct"]
    assert 0.02 <= moisture.min() < 0.15 < 0.25 < moisture.max() <= 0.6
    heating = out["operating_state"] == 1  # samples starting in a cycle's heating phase
    wet, dry = heating & (moisture > 0.25), heating & (moisture < 0.15)
    assert out["power_kw"][wet].mean() > 1.1 * out["power_kw"][dry].mean()
