"""Fixtures of the device-group tests: no background loops."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "command_schedules_interval_s": 0,
        "reports_interval_s": 0,
        "dr_interval_s": 0,
        "forecast_interval_s": 0,
        "baseline_refit_check_s": 0,
        "flex_mpc_interval_s": 0,
    }
