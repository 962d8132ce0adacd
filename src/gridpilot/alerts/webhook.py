"""Webhook delivery signed like Standard Webhooks, with an SSRF guard.

Headers: ``webhook-id`` (the message id, the same on every retry), ``webhook-timestamp``
(epoch seconds) and ``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(key, id.timestamp.body))
where ``key`` is the base64-decoded part of the channel secret after ``whsec_``. Receivers
should check the signature and refuse timestamps more than a few minutes old.

URLs whose host resolves to a loopback, private, link-local, multicast, reserved or unspecified
address are refused unless ``GRIDPILOT_WEBHOOK_ALLOW_PRIVATE`` is true; the check runs when the
channel is saved and again before every delivery (DNS may change). Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from urllib.parse import urlsplit

import httpx

from gridpilot.core.errors import ValidationFailed

USER_AGENT = "gridpilot-webhooks/1"


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{message_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str, message_id: str, body: bytes, now_s: int | None = None
) -> dict[str, str]:
    timestamp_s = int(time.time()) if now_s is None else now_s
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": sign(secret, message_id, timestamp_s, body),
    }


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_target(url: str, *, allow_private: bool) -> None:
    """``ValidationFailed`` unless ``url`` is http(s) and (unless allowed) resolves to public
    addresses only."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise ValidationFailed("webhook url cannot be parsed") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValidationFailed("webhook url must be http:// or https:// with a host")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed("webhook url has an invalid port") from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            hostname, port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError, ValueError) as exc:
        raise ValidationFailed(f"webhook host {hostname!r} does not resolve: {exc}") from None
    addresses = {str(info[4][0]) for info in infos}
    blocked = sorted(a for a in addresses if not _is_public(a))
    if blocked or not addresses:
        raise ValidationFailed(
            f"webhook host {hostname!r} resolves to a non-public address"
            f" ({', '.join(blocked)});"
            " set GRIDPILOT_WEBHOOK_ALLOW_PRIVATE=true to allow internal receivers"
        )


async def post(
    *,
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    timeout_s: float,
    allow_private: bool,
) -> str | None:
    """POST one signed notification; None on a 2xx answer, else the reason it failed."""
    try:
        await check_target(url, allow_private=allow_private)
    except ValidationFailed as exc:
        return exc.message
    headers = signed_headers(secret, message_id, body)
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except Exception as exc:  # any failure of the receiver or the URL is retried
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"
