"""Mosquitto password and ACL files generated from gridpilot's device keys.

Every unrevoked device key becomes a broker user: username = the key id (``gpk_<key_id>_...``),
password = the whole raw key; its ``$7$`` PBKDF2-SHA512 hash was stored when the key was made
(``api_keys.mqtt_password_hash``), so the secret never needs to be known again. The ACL lets a
device write only its own telemetry/status/ack topics and read only its own command topic, in
every form that names its asset: ``gridpilot/{site}/{asset id|sourceId}``,
``sites/{site}/devices/{asset id|device_id}``, ``energy/plant/+/device/{asset id|device_id}``
and ``attributes.mqtt_base_topic``. The gridpilot service user (from ``GRIDPILOT_MQTT_URL``)
may read and write everything under the topic prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.auth.api_keys import mosquitto_hash
from gridpilot.auth.models import ApiKey

#: Characters a topic segment may contain in an ACL line (no wildcards, no spaces, no '/').
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_.:@-]{1,100}")
_SAFE_BASE = re.compile(r"[A-Za-z0-9_.:@/-]{1,200}")


@dataclass(frozen=True)
class DeviceAccount:
    """One broker user: a device key and the topics its asset may use."""

    username: str
    password_hash: str
    bases: tuple[str, ...]
    fleet_bases: tuple[str, ...] = field(default=())  # bases with per-metric telemetry topics
    cer_bases: tuple[str, ...] = field(default=())


@dataclass
class AuthExport:
    accounts: list[DeviceAccount]
    skipped: list[str]  # key ids without a Mosquitto hash (created before migration 0002)


def _segments(*values: object) -> list[str]:
    return [str(v) for v in dict.fromkeys(values) if v and _SAFE_SEGMENT.fullmatch(str(v))]


def device_bases(
    asset_id: int,
    site_id: int,
    source_id: str | None,
    attributes: dict[str, object] | None,
    prefix: str = "",
) -> tuple[list[str], list[str], list[str]]:
    """(gridpilot/custom bases, fleet bases, cer bases) of one asset, with ``prefix``."""
    attributes = attributes or {}
    names = _segments(asset_id, source_id)
    device_names = _segments(asset_id, attributes.get("device_id"))
    bases = [f"{prefix}gridpilot/{site_id}/{name}" for name in names]
    custom = attributes.get("mqtt_base_topic")
    if isinstance(custom, str) and _SAFE_BASE.fullmatch(custom.strip("/")):
        bases.append(prefix + custom.strip("/"))
    fleet = [f"{prefix}sites/{site_id}/devices/{name}" for name in device_names]
    cer = [f"{prefix}energy/plant/+/device/{name}" for name in device_names]
    return bases, fleet, cer


async def device_accounts(*, session: AsyncSession, prefix: str = "") -> AuthExport:
    """Every unrevoked device key with its asset's topics."""
    rows = await session.execute(
        select(ApiKey.key_id, ApiKey.mqtt_password_hash, Asset)
        .join(Asset, Asset.id == ApiKey.asset_id)
        .where(ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id)
    )
    export = AuthExport(accounts=[], skipped=[])
    for key_id, password_hash, asset in rows:
        if not password_hash:
            export.skipped.append(key_id)
            continue
        bases, fleet, cer = device_bases(
            asset.id, asset.site_id, asset.source_id, asset.attributes, prefix
        )
        export.accounts.append(
            DeviceAccount(key_id, password_hash, tuple(bases), tuple(fleet), tuple(cer))
        )
    return export


def password_file(accounts: Iterable[DeviceAccount], service: tuple[str, str] | None) -> str:
    """``mosquitto_passwd`` format: ``user:$7$...`` per line (the service user first)."""
    lines = []
    if service is not None:
        lines.append(f"{service[0]}:{mosquitto_hash(service[1])}")
    lines += [f"{a.username}:{a.password_hash}" for a in accounts]
    return "\n".join(lines) + "\n"


def _device_acl(account: DeviceAccount) -> list[str]:
    lines = [f"user {account.username}"]
    for base in account.bases + account.fleet_bases:
        lines += [
            f"topic write {base}/telemetry",
            f"topic write {base}/status",
            f"topic write {base}/commands/ack",
            f"topic read {base}/commands",
        ]
    lines += [f"topic write {base}/telemetry/+" for base in account.fleet_bases]
    for base in account.cer_bases:
        lines += [
            f"topic write {base}/measurements",
            f"topic write {base}/status",
            f"topic write {base}/commands/ack",
            f"topic read {base}/commands",
        ]
    return lines


def acl_file(accounts: Iterable[DeviceAccount], service_user: str | None, prefix: str = "") -> str:
    """Mosquitto ``acl_file`` text: the service user may use everything under ``prefix``;
    each device only its own topics; anybody else nothing."""
    blocks = ["# generated by `gridpilot mqtt-auth export`; do not edit by hand"]
    if service_user is not None:
        blocks.append(f"user {service_user}\ntopic readwrite {prefix}#")
    blocks += ["\n".join(_device_acl(a)) for a in accounts]
    return "\n\n".join(blocks) + "\n"
