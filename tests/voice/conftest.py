"""Fixtures of the voice tests: two sites in Rome with machines whose power is known."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"dr_interval_s": 0, "forecast_interval_s": 0, "baseline_refit_check_s": 0}


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)
