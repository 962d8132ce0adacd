"""Webhook delivery signed like Standard Webhooks, with an SSRF guard.

Headers: ``webhook-id`` (the message id, the same on every retry), ``webhook-timestamp``
(epoch seconds) and ``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(key, id.timestamp.body))
where ``key`` is the base64-decoded part of the channel secret after ``whsec_``. Receivers
should check the signature and refuse timestamps more than a few minutes old.

Targets pass the SSRF guard of ``webhook_target`` when the channel is saved and again before
every delivery; the delivery connects to the addresses that passed (no second DNS lookup, so a
rebinding DNS answer cannot redirect it), sends the URL's own host in ``Host`` and TLS SNI (the
certificate is checked against it), follows no redirects and ignores proxy environment variables.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import httpx

from gridpilot.alerts import webhook_target
from gridpilot.alerts.webhook_target import Guard
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


async def post(
    *,
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    timeout_s: float,
    guard: Guard,
) -> str | None:
    """POST one signed notification; None on a 2xx answer, else the reason it failed."""
    try:
        target = await webhook_target.check(url, guard)
    except ValidationFailed as exc:
        return exc.message
    headers = signed_headers(secret, message_id, body)
    headers["host"] = target.url.netloc.decode("ascii")
    extensions = {}
    if target.url.scheme == "https":
        extensions["sni_hostname"] = target.url.raw_host.decode("ascii")
    error = "no address to connect to"
    async with httpx.AsyncClient(
        timeout=timeout_s, follow_redirects=False, trust_env=False
    ) as client:
        for address in target.addresses:  # the checked addresses, in the resolver's order
            pinned = target.url.copy_with(host=address.split("%", 1)[0])
            try:
                response = await client.post(
                    pinned, content=body, headers=headers, extensions=extensions
                )
            except httpx.ConnectError as exc:  # try the host's next address
                error = f"ConnectError: {exc} ({address})"[:500]
                continue
            except Exception as exc:  # any failure of the receiver or the URL is retried
                return f"{type(exc).__name__}: {exc}"[:500]
            if 200 <= response.status_code < 300:
                return None
            return f"HTTP {response.status_code}: {response.text[:200]}"
    return error
