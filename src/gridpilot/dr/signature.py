"""Standard Webhooks signatures of utility notifications (pure; https://www.standardwebhooks.com).

A notification carries three headers:

- ``webhook-id``: the message id, unique per notification (a reused one is a replay);
- ``webhook-timestamp``: when it was sent [integer epoch seconds]; refused more than
  ``TOLERANCE_S`` (5 minutes) away from now, in either direction;
- ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), where
  ``key`` is the base64-decoded part of the utility's secret after ``whsec_``; several
  space-separated signatures are allowed (key rotation), one must match.

The signature also says who sent it: the first utility whose secret makes it is the sender.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import TypeVar

from gridpilot.core.errors import AuthenticationFailed

TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
MAX_ID_LENGTH = 200
Owner = TypeVar("Owner")


class SignatureInvalid(AuthenticationFailed):
    """Headers missing or malformed, or no utility's secret makes the signature (HTTP 401)."""

    code = "webhook_signature_invalid"


class TimestampOutOfTolerance(AuthenticationFailed):
    """``webhook-timestamp`` more than 5 minutes from now (HTTP 401)."""

    code = "webhook_timestamp_out_of_tolerance"


def new_secret() -> str:
    """A fresh secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` value of ``body`` under ``secret``: ``v1,<base64>``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{message_id}.{timestamp_s}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def check_headers(
    message_id: str | None, timestamp: str | None, signature: str | None, now_s: int
) -> int:
    """The timestamp [s] once the three headers are present and the time is within
    ``TOLERANCE_S`` of ``now_s``."""
    missing = [
        name
        for name, value in (
            ("webhook-id", message_id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        )
        if not value
    ]
    if missing:
        raise SignatureInvalid(f"missing header(s): {', '.join(missing)} (Standard Webhooks)")
    assert message_id is not None and timestamp is not None
    if len(message_id) > MAX_ID_LENGTH or not message_id.isprintable():
        raise SignatureInvalid(f"webhook-id must be at most {MAX_ID_LENGTH} printable characters")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureInvalid("webhook-timestamp must be integer epoch seconds")
    sent_s = int(timestamp)
    if abs(now_s - sent_s) > TOLERANCE_S:
        raise TimestampOutOfTolerance(
            f"webhook-timestamp is {now_s - sent_s} s from now: at most {TOLERANCE_S} s is "
            "accepted (replayed or clock skew)"
        )
    return sent_s


def _offered(header: str) -> list[bytes]:
    found = []
    for part in header.split():
        version, _, value = part.partition(",")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def signer(
    candidates: Iterable[tuple[Owner, str]],
    message_id: str,
    timestamp_s: int,
    body: bytes,
    header: str,
) -> Owner:
    """The owner of the first secret of ``candidates`` that makes one of the header's ``v1``
    signatures (constant-time comparison); ``SignatureInvalid`` when none does."""
    offered = _offered(header)
    if not offered:
        raise SignatureInvalid("webhook-signature holds no 'v1,<base64>' signature")
    for owner, secret in candidates:
        expected = base64.b64decode(sign(secret, message_id, timestamp_s, body)[3:])
        if any(hmac.compare_digest(expected, mine) for mine in offered):
            return owner
    raise SignatureInvalid("the signature does not match any utility's secret")
