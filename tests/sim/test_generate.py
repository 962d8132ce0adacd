"""From models to readings: registers follow power, chunking does not change the data."""

from __future__ import annotations

import numpy as np
import pytest
from tests.sim.helpers import JUNE_MONDAY, ctx

from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR
from gridpilot.sim.factory import Compressor, InjectionMolding
from gridpilot.sim.generate import Accumulator, generate, output_step_ms, readings


def test_register_is_consistent_with_power_and_downsampling_keeps_energy():
    model = Compressor()
    fine, coarse = Accumulator(), Accumulator()
    end = JUNE_MONDAY + 6 * MS_PER_HOUR
    t1, native = generate(model, ctx("c"), JUNE_MONDAY, end, step_ms=None, accumulator=fine)
    t2, history = generate(model, ctx("c"), JUNE_MONDAY, end, step_ms=300_000, accumulator=coarse)
    assert np.all(np.diff(t1) == 1000) and np.all(np.diff(t2) == 300_000)
    assert fine.values["energy_kwh"] == pytest.approx(coarse.values["energy_kwh"])
    assert fine.values["energy_kwh"] == pytest.approx(native["power_kw"].sum() / 3600)
    # energy between two history readings = mean power x time
    delta = np.diff(history["energy_kwh"])
    np.testing.assert_allclose(delta, history["power_kw"][:-1] * 300 / 3600)
    np.testing.assert_array_equal(history["energy_kwh"], native["energy_kwh"][::300])


def test_chunks_give_the_same_data_as_one_run():
    model = InjectionMolding("ABS")
    whole, parts = Accumulator(), Accumulator()
    end = JUNE_MONDAY + MS_PER_DAY
    _, a = generate(model, ctx("m"), JUNE_MONDAY, end, step_ms=600_000, accumulator=whole)
    _, b1 = generate(
        model,
        ctx("m"),
        JUNE_MONDAY,
        JUNE_MONDAY + 7 * MS_PER_HOUR,
        step_ms=600_000,
        accumulator=parts,
    )
    _, b2 = generate(
        model, ctx("m"), JUNE_MONDAY + 7 * MS_PER_HOUR, end, step_ms=600_000, accumulator=parts
    )
    for key in a:
        np.testing.assert_allclose(a[key], np.concatenate([b1[key], b2[key]]))
    assert np.all(np.diff(a["production_count"]) >= 0)
    assert a["production_count"].dtype == np.float64 and np.all(a["production_count"] % 1 == 0)


def test_output_step_is_a_multiple_of_the_native_interval_and_readings_are_dicts():
    assert output_step_ms(InjectionMolding(), 100_000) == 120_000
    assert output_step_ms(InjectionMolding(), None) == 30_000
    t, values = generate(
        Compressor(),
        ctx("c"),
        JUNE_MONDAY,
        JUNE_MONDAY + 3000,
        step_ms=None,
        accumulator=Accumulator(),
    )
    rows = list(readings(5, t, values))
    assert len(rows) == 3 * 5  # energy, operating hours, power, pressure, flow (not _on)
    assert rows[0] == {"asset": 5, "metric": "energy_kwh", "ts": JUNE_MONDAY, "value": 0.0}
