"""API keys for services and devices: format, storage, verification and a short in-process cache.

A raw key reads ``gpk_<key_id>_<secret>``: ``key_id`` is 16 hex characters, public (it is the
OAuth2 ``client_id`` and appears in listings and logs), ``secret`` is 256 random bits (43 URL-safe
characters). It is shown once, at creation; only ``sha256$<hex>`` of the secret is stored.

Why SHA-256 and not argon2: a slow hash protects *low-entropy* secrets (passwords) against
guessing. The key secret is 256 uniformly random bits, so there is no dictionary to try and a
leaked hash still needs ~2^255 SHA-256 evaluations to invert; a fast hash adds no risk and lets a
device authenticate every request in microseconds. Hashes are compared with
``hmac.compare_digest`` (constant time).

Sent as header ``X-API-Key: <raw key>`` or used as OAuth2 ``client_credentials`` with
``client_id = key_id`` and ``client_secret`` = the full raw key or just its secret part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.admin_scope import can_manage, check_grant, check_manage
from gridpilot.auth.models import ApiKey
from gridpilot.auth.permissions import Principal, Role
from gridpilot.auth.tokens import new_opaque_token, sha256_hex
from gridpilot.core.errors import AuthenticationFailed, NotFound, ValidationFailed
from gridpilot.db.base import utcnow

KEY_PREFIX = "gpk"
HASH_SCHEME = "sha256$"
#: How long a verified key is trusted without a database look-up, per process (seconds).
#: A key revoked in *another* process (CLI, other worker) keeps working here at most this long;
#: revoking through this process's API evicts it at once.
CACHE_TTL_S = 30.0
#: ``last_used_at`` is written at most this often per key (seconds).
LAST_USED_RESOLUTION_S = 60.0
#: Roles an API key may have. Administration needs a person: no administrator keys.
KEY_ROLES = frozenset({Role.SERVICE, Role.OPERATOR, Role.VIEWER})
MAX_RAW_KEY_LENGTH = 200
#: PBKDF2 rounds of the Mosquitto hash of a device key (its 256-bit secret needs no slow hash).
MOSQUITTO_ITERATIONS = 1000

_KEY_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class RawKey:
    key_id: str
    secret: str


def parse_raw_key(raw: str) -> RawKey | None:
    """The parts of ``gpk_<key_id>_<secret>``, or None when ``raw`` is not shaped like a key."""
    if len(raw) > MAX_RAW_KEY_LENGTH:
        return None
    prefix, _, rest = raw.partition("_")
    key_id, sep, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not sep or not secret or not _KEY_ID.fullmatch(key_id):
        return None
    return RawKey(key_id, secret)


def hash_secret(secret: str) -> str:
    return HASH_SCHEME + sha256_hex(secret)


def mosquitto_hash(password: str, *, iterations: int = MOSQUITTO_ITERATIONS) -> str:
    """``$7$`` PBKDF2-SHA512 hash as ``mosquitto_passwd`` writes it (Mosquitto >= 2.0)."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def secret_matches(stored_hash: str, secret: str) -> bool:
    return hmac.compare_digest(stored_hash.encode(), hash_secret(secret).encode())


def key_principal(key: ApiKey) -> Principal:
    """A key's principal; a device key's has ``asset_ids={asset}`` and ``site_ids={site}``."""
    return Principal(
        subject=f"key:{key.key_id}",
        name=key.name,
        role=Role(key.role),
        api_key_id=key.id,
        site_ids=frozenset({key.site_id}) if key.site_id is not None else None,
        asset_ids=frozenset({key.asset_id}) if key.asset_id is not None else None,
    )


class ApiKeyCache:
    """Verified keys of one app, trusted for ``ttl_s`` seconds (see ``CACHE_TTL_S``)."""

    def __init__(
        self,
        ttl_s: float = CACHE_TTL_S,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[str, Principal, float]] = {}

    def get(self, raw_key: str) -> Principal | None:
        parsed = parse_raw_key(raw_key)
        entry = self._entries.get(parsed.key_id) if parsed else None
        if parsed is None or entry is None:
            return None
        stored_hash, principal, expires_at = entry
        if self.clock() >= expires_at:
            self._entries.pop(parsed.key_id, None)
            return None
        return principal if secret_matches(stored_hash, parsed.secret) else None

    def put(self, key: ApiKey, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            now = self.clock()
            self._entries = {k: e for k, e in self._entries.items() if e[2] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key.key_id] = (key.secret_hash, principal, self.clock() + self.ttl_s)

    def evict(self, key_id: str) -> None:
        self._entries.pop(key_id, None)


async def create_api_key(
    *,
    session: AsyncSession,
    name: str,
    role: Role | str = Role.SERVICE,
    asset_id: int | None = None,
    site_id: int | None = None,
    created_by: int | None = None,
    actor: Principal | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its raw value (shown once). With ``asset_id`` it is a device key, and the
    caller passes the asset's ``site_id``; with only ``site_id`` it is limited to that site.
    ``actor`` (None: the CLI) may make keys only for sites it administers."""
    check_grant(actor, [site_id] if site_id is not None else None, "the key")
    try:
        key_role = Role(role)
    except ValueError:
        raise ValidationFailed(f"unknown role {role!r}") from None
    if key_role not in KEY_ROLES:
        allowed = ", ".join(sorted(r.value for r in KEY_ROLES))
        raise ValidationFailed(f"an API key cannot have role {key_role.value!r}; use {allowed}")
    if asset_id is not None and (site_id is None or key_role is not Role.SERVICE):
        raise ValidationFailed("a device key needs the asset's site_id and role 'service'")
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("an API key needs a name of 1 to 200 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationFailed("an API key's name may not contain control characters")
    key_id = secrets.token_hex(8)
    secret = new_opaque_token(32)
    raw = f"{KEY_PREFIX}_{key_id}_{secret}"
    key = ApiKey(
        key_id=key_id,
        secret_hash=hash_secret(secret),
        # device keys also log in to the MQTT broker (username key_id, password the raw key)
        mqtt_password_hash=mosquitto_hash(raw) if asset_id is not None else None,
        name=name,
        role=key_role.value,
        asset_id=asset_id,
        site_id=site_id,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    await audit.record(
        session,
        action="device_key.create" if asset_id is not None else "key.create",
        actor=actor,
        target=f"key:{key_id}",
        detail={"name": name, "role": key_role.value, "asset": asset_id, "site": site_id},
    )
    return key, raw


async def authenticate_api_key(*, session: AsyncSession, key_id: str, secret: str) -> ApiKey | None:
    """The unrevoked key ``key_id`` when ``secret`` is its secret; records ``last_used_at``."""
    key = await session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if key is None or key.revoked_at is not None or not secret_matches(key.secret_hash, secret):
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= timedelta(
        seconds=LAST_USED_RESOLUTION_S
    ):
        key.last_used_at = now
        await session.flush()
    return key


async def principal_for_api_key(
    session: AsyncSession, raw_key: str, *, cache: ApiKeyCache | None = None
) -> Principal:
    """The principal of a valid, unrevoked API key; ``AuthenticationFailed`` otherwise."""
    if cache is not None and (cached := cache.get(raw_key)) is not None:
        return cached
    parsed = parse_raw_key(raw_key)
    key = (
        await authenticate_api_key(session=session, key_id=parsed.key_id, secret=parsed.secret)
        if parsed
        else None
    )
    if key is None:
        raise AuthenticationFailed("invalid or revoked API key")
    principal = key_principal(key)
    if cache is not None:
        cache.put(key, principal)
    return principal


def _key_sites(key: ApiKey) -> list[int] | None:
    return [key.site_id] if key.site_id is not None else None


async def list_api_keys(
    *,
    session: AsyncSession,
    asset_id: int | None = None,
    include_revoked: bool = True,
    actor: Principal | None = None,
) -> list[ApiKey]:
    """All keys (newest first) that ``actor`` administers, or only the device keys of
    ``asset_id``."""
    query = select(ApiKey).order_by(ApiKey.id.desc())
    if asset_id is not None:
        query = query.where(ApiKey.asset_id == asset_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [k for k in await session.scalars(query) if can_manage(actor, _key_sites(k))]


async def get_api_key(
    *,
    session: AsyncSession,
    api_key_id: int | None = None,
    key_id: str | None = None,
    actor: Principal | None = None,
) -> ApiKey:
    """A key by database id or by public ``key_id``; ``NotFound`` otherwise (also when outside
    what ``actor`` administers)."""
    if api_key_id is not None:
        key = await session.get(ApiKey, api_key_id)
    else:
        key = await session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if key is None:
        raise NotFound("API key not found")
    check_manage(actor, _key_sites(key), "API key")
    return key


async def revoke_api_key(
    *,
    session: AsyncSession,
    api_key_id: int | None = None,
    key_id: str | None = None,
    cache: ApiKeyCache | None = None,
    actor: Principal | None = None,
) -> ApiKey:
    """Revoke a key (idempotent) and drop it from ``cache``. Access tokens it obtained by
    client_credentials stop working within seconds (``auth.revocation``)."""
    key = await get_api_key(session=session, api_key_id=api_key_id, key_id=key_id, actor=actor)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            action="device_key.revoke" if key.asset_id is not None else "key.revoke",
            actor=actor,
            target=f"key:{key.key_id}",
            detail={"name": key.name, "asset": key.asset_id, "site": key.site_id},
        )
    if cache is not None:
        cache.evict(key.key_id)
    return key
