"""gridpilot's error tree. Services raise these; the API maps them to HTTP (see ``api.errors``)."""

from __future__ import annotations

from typing import Any


class GridpilotError(Exception):
    """Base of every error gridpilot raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigurationError(GridpilotError, ValueError):
    """Settings are missing or unsafe."""

    code = "configuration_error"


class ValidationFailed(GridpilotError):
    """Input is well-formed but not acceptable (HTTP 422)."""

    code = "validation_failed"


class BadRequest(GridpilotError):
    """Input cannot be parsed (HTTP 400)."""

    code = "bad_request"


class NotFound(GridpilotError):
    """The object does not exist, or the caller may not know it exists (HTTP 404)."""

    code = "not_found"


class Conflict(GridpilotError):
    """The object already exists or the change clashes with the current state (HTTP 409)."""

    code = "conflict"


class AuthenticationFailed(GridpilotError):
    """Missing, invalid or expired credentials (HTTP 401)."""

    code = "authentication_failed"


class PermissionDenied(GridpilotError):
    """Authenticated, but the role or scope does not allow it (HTTP 403)."""

    code = "permission_denied"


class TooLarge(GridpilotError):
    """The request or the result would exceed a configured cap (HTTP 413)."""

    code = "too_large"


class UnsupportedMediaType(GridpilotError):
    """The body's ``Content-Type`` is not one the route reads (HTTP 415)."""

    code = "unsupported_media_type"


class RateLimited(GridpilotError):
    """Too many requests from one client (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(GridpilotError):
    """A dependency (database, broker) is down or overloaded (HTTP 503)."""

    code = "unavailable"
