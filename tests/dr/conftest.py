"""Fixtures of the demand-response tests: the dr tables emptied, no background loops (the tests
drive the DR loop's step with an explicit time), an administrator."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridpilot.auth.permissions import Role

TABLES = ("dr_dispatch_steps", "dr_dispatch_plans", "dr_webhook_deliveries",
          "dr_event_intervals", "dr_events", "dr_utility_sites", "dr_utilities")  # fmt: skip


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"dr_interval_s": 0, "forecast_interval_s": 0, "baseline_refit_check_s": 0}


@pytest.fixture
async def app(app):
    """The shared app, with the dr tables emptied too."""
    async with app.state.sessions() as session, session.begin():
        for table in TABLES:
            await session.execute(text(f"DELETE FROM {table}"))
    return app


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)
