"""RFC 6749 vocabulary: error responses (5.2), scopes (3.3) and client authentication (2.3.1).

Scopes are gridpilot permissions (``read``, ``telemetry:write``, ``configure``...). A token may
carry fewer permissions than its role has (never more); without ``scope`` it carries all of them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from urllib.parse import unquote_plus

from gridpilot.auth.permissions import ROLE_PERMISSIONS, Permission, Role

KNOWN_SCOPES = frozenset(p.value for p in Permission)


class OAuthError(Exception):
    """An RFC 6749 5.2 error: ``invalid_request``, ``invalid_client``, ``invalid_grant``,
    ``unauthorized_client``, ``unsupported_grant_type`` or ``invalid_scope``.

    ``keep_changes`` asks the endpoint to commit what was flushed before the error (a revoked
    refresh-token family); otherwise it rolls back. ``retry_after_s`` becomes a ``Retry-After``
    header (a locked account).
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        keep_changes: bool = False,
        retry_after_s: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.keep_changes = keep_changes
        self.retry_after_s = retry_after_s
        self.extra = extra or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description, **self.extra}


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def parse_scope(text: str | None) -> frozenset[str] | None:
    """The requested scope tokens, or None when no scope was asked for."""
    if text is None or not text.strip():
        return None
    requested = frozenset(text.split())
    unknown = sorted(requested - KNOWN_SCOPES)
    if unknown:
        raise OAuthError(
            "invalid_scope",
            f"unknown scope {' '.join(unknown)!r}; known: {' '.join(sorted(KNOWN_SCOPES))}",
        )
    return requested


def granted_scope(role: Role, requested: Iterable[str] | None) -> str:
    """The scope a token for ``role`` gets: the requested permissions, or all of the role's.

    Asking for a permission the role lacks is ``invalid_scope``.
    """
    available = {p.value for p in ROLE_PERMISSIONS[role]}
    if requested is None:
        return " ".join(sorted(available))
    wanted = set(requested)
    beyond = sorted(wanted - available)
    if beyond:
        raise OAuthError(
            "invalid_scope", f"role {role.value!r} may not be granted {' '.join(beyond)!r}"
        )
    return " ".join(sorted(wanted))


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from ``Authorization: Basic ...``; None without that header.

    Both parts are form-urlencoded inside the Basic value (RFC 6749 2.3.1).
    """
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("malformed HTTP Basic credentials") from None
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        raise invalid_client("malformed HTTP Basic credentials")
    return unquote_plus(client_id), unquote_plus(client_secret)
