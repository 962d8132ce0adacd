"""``anomaly.detected`` events (payload: docs/live.md), published after the commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.insights.anomalies.models import Anomaly

ANOMALY_DETECTED = catalogue.ANOMALY_DETECTED.name


def anomaly_event(row: Anomaly) -> dict[str, Any]:
    return {
        "asset_id": row.asset_id,
        "site_id": row.site_id,
        "metric": row.metric,
        "ts": row.ts_ms,
        "method": row.method,
        "score": row.score,
        "severity": row.severity,
        "detail": row.detail,
    }


async def publish_anomalies(bus: EventBus, events: Sequence[dict[str, Any]]) -> None:
    """Publish prepared payloads (build them before the session closes)."""
    for payload in events:
        await bus.publish(ANOMALY_DETECTED, payload)
