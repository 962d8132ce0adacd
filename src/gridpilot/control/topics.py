"""MQTT topics of device commands (contracts: ``{base}/commands`` and ``{base}/commands/ack``).

``{base}`` is ``attributes["mqtt_base_topic"]`` of the asset when set, else
``gridpilot/{site_id}/{asset_id}``; every topic starts with ``settings.mqtt_topic_prefix``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
