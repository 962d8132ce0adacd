"""The full metadata of every domain's tables (for Alembic and tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from gridpilot.db.base import Base

#: Domains whose ``models`` module defines tables. Imported lazily: db must not import domains.
MODEL_MODULES = (
    "gridpilot.db.schedules",
    "gridpilot.assets.models",
    "gridpilot.auth.models",
    "gridpilot.telemetry.models",
    "gridpilot.alerts.models",
    "gridpilot.control.models",
    "gridpilot.groups.models",
    "gridpilot.scheduling.models",
    "gridpilot.firmware.models",
    "gridpilot.insights.baselines.models",
    "gridpilot.insights.anomalies.models",
    "gridpilot.insights.forecasts.models",
    "gridpilot.insights.kpis.models",
    "gridpilot.flex.models",
    "gridpilot.dr.models",
    "gridpilot.community.models",
    "gridpilot.reports.models",
    "gridpilot.voice.models",
    "gridpilot.openadr.models",
)


def target_metadata() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
