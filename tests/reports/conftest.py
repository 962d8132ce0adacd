"""Fixtures of the reports tests: no background loops (tests drive the scheduler's ``step``
with an explicit time), a Rome site with three consumers (``report_data``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "reports_interval_s": 0,
        "dr_interval_s": 0,
        "forecast_interval_s": 0,
        "baseline_refit_check_s": 0,
        "flex_mpc_interval_s": 0,
    }
