"""Which routes take bulk bodies.

A bulk ingest route's body may be as large as ``settings.max_body_bytes``; every other route's
``settings.max_request_body_bytes`` (``api.body_guard`` enforces both). Mark a route function with
``@bulk_body`` under its route decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_BULK_ENDPOINTS: set[Callable[..., Any]] = set()


def bulk_body(endpoint: F) -> F:
    """Mark ``endpoint`` (a route function) as taking a bulk body."""
    _BULK_ENDPOINTS.add(endpoint)
    return endpoint


def is_bulk(endpoint: object) -> bool:
    """Whether ``endpoint`` was marked with ``@bulk_body``."""
    return callable(endpoint) and endpoint in _BULK_ENDPOINTS
