"""Events the alerts domain publishes, after the transaction committed.

``alert.raised`` | ``alert.acknowledged`` | ``alert.resolved``: ``lifecycle.event_payload``
(``alert_id, rule_id, asset_id, site_id, kind, severity, state, title, message, value, ts``);
``alert_rule.changed``: ``{"rule_id", "action": created|updated|deleted}`` (evaluators reload).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gridpilot.alerts.evaluator import ALERTS, RULE_CHANGED
from gridpilot.alerts.lifecycle import event_payload
from gridpilot.alerts.models import Alert
from gridpilot.core.runtime import runtime_of


def alert_events(topic: str, alerts: list[Alert]) -> list[tuple[str, dict[str, Any]]]:
    return [(topic, event_payload(alert)) for alert in alerts]


def rule_event(rule_id: int, action: str) -> tuple[str, dict[str, Any]]:
    return RULE_CHANGED, {"rule_id": rule_id, "action": action}


async def publish_all(app: FastAPI, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish ``events`` and wake the notifier (queued notifications go out at once)."""
    shared = runtime_of(app)
    for topic, payload in events:
        await shared.bus.publish(topic, payload)
    runtime = shared.get(ALERTS)
    if runtime is not None:
        runtime.notifier.wake()
