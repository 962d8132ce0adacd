"""Metrics named for people in alert texts: a short name and the value with its unit."""

from __future__ import annotations

from gridpilot.assets.catalogue import metric_name, quantity


def test_builtin_metrics_have_short_names_and_others_lose_their_underscores():
    assert metric_name("power_kw") == "Active power"
    assert metric_name("soc_pct") == "Battery state of charge"
    assert metric_name("energy_produced") == "energy produced"


def test_values_carry_their_unit_and_drop_noise_digits():
    assert quantity(1978.04, "power_kw") == "1,978 kW"
    assert quantity(1500.0, "power_kw") == "1,500 kW"
    assert quantity(49.984, "frequency_hz") == "49.98 Hz"
    assert quantity(21.5, "temperature_c") == "21.5 °C"
    assert quantity(0.97, "power_factor") == "0.97"
    assert quantity(311.08452500000004, "energy_kwh") == "311.1 kWh"
    assert quantity(-12.0, "my_metric") == "-12"
