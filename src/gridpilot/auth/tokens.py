"""JWT access tokens: HS256 only (pinned), with iss/aud/exp/iat/sub checked; opaque tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from gridpilot.core.errors import AuthenticationFailed

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenConfig:
    secret: str
    issuer: str
    audience: str
    ttl_s: int = 3600


def encode_access_token(config: TokenConfig, subject: str, claims: dict[str, Any]) -> str:
    """A signed token for ``subject`` ("user:42" or "key:gpk_..."), valid ``ttl_s`` seconds."""
    now = int(time.time())
    payload = {
        **claims,
        "sub": subject,
        "iss": config.issuer,
        "aud": config.audience,
        "iat": now,
        "nbf": now,
        "exp": now + config.ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, config.secret, algorithm=ALGORITHM)


def decode_access_token(config: TokenConfig, token: str) -> dict[str, Any]:
    """Verified claims of ``token``; raises ``AuthenticationFailed`` with the reason."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            config.secret,
            algorithms=[ALGORITHM],
            audience=config.audience,
            issuer=config.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("access token expired") from None
    except jwt.InvalidAudienceError:
        raise AuthenticationFailed("access token has the wrong audience") from None
    except jwt.InvalidIssuerError:
        raise AuthenticationFailed("access token has the wrong issuer") from None
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"invalid access token: {exc}") from None
    return claims


def new_opaque_token(n_bytes: int = 32) -> str:
    """A URL-safe random token of ``n_bytes`` of entropy (refresh tokens, API key secrets)."""
    return secrets.token_urlsafe(n_bytes)


def sha256_hex(value: str) -> str:
    """SHA-256 of a high-entropy random token, as stored at rest (never for passwords)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
