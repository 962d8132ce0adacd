"""Device commands on the wire: the topics (``{base}/commands`` and ``{base}/commands/ack``)
and the message a device receives.

``{base}`` is ``attributes["mqtt_base_topic"]`` of the asset when set, else
``gridpilot/{site_id}/{asset_id}``; every topic starts with ``settings.mqtt_topic_prefix``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gridpilot.control.models import Command

BASE_TOPIC_ATTRIBUTE = "mqtt_base_topic"


def base_topic(site_id: int, asset_id: int, attributes: Mapping[str, Any] | None) -> str:
    """The asset's topic base without the prefix (``gridpilot/{site}/{asset}`` by default)."""
    custom = (attributes or {}).get(BASE_TOPIC_ATTRIBUTE)
    if isinstance(custom, str) and custom.strip("/ "):
        return custom.strip("/ ")
    return f"gridpilot/{site_id}/{asset_id}"


def command_topic(
    prefix: str, site_id: int, asset_id: int, attributes: Mapping[str, Any] | None
) -> str:
    """Where commands for the asset are published (QoS 1)."""
    return f"{prefix}{base_topic(site_id, asset_id, attributes)}/commands"


def ack_topic(
    prefix: str, site_id: int, asset_id: int, attributes: Mapping[str, Any] | None
) -> str:
    """Where the device acknowledges commands."""
    return f"{command_topic(prefix, site_id, asset_id, attributes)}/ack"


def status_topic(
    prefix: str, site_id: int, asset_id: int, attributes: Mapping[str, Any] | None
) -> str:
    """Where the device publishes its birth (``online``) and Last Will (``offline``)."""
    return f"{prefix}{base_topic(site_id, asset_id, attributes)}/status"


def command_message(command: Command) -> bytes:
    """The JSON a device receives on its commands topic (docs/control.md)."""
    return json.dumps(
        {
            "command_id": command.id,
            "idempotency_key": command.idempotency_key,
            "kind": command.kind,
            "params": command.params,
            "issued_ms": command.created_ms,
            "expires_ms": command.expires_ms,
        },
        separators=(",", ":"),
    ).encode()
