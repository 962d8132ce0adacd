"""Helpers of the CER seed's paths: registration at both spellings (the seed writes a final
``/``), and documented error answers in gridpilot's ``Error`` body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def both(method: Callable[..., Any], path: str, **kwargs: Any) -> Callable[[Any], Any]:
    """Register a route at ``path`` and, hidden from the schema, at ``path + "/"``."""

    def register(endpoint: Any) -> Any:
        method(path + "/", include_in_schema=False, **kwargs)(endpoint)
        return method(path, **kwargs)(endpoint)

    return register


def error_answer(description: str) -> dict[str, Any]:
    """An OpenAPI answer with gridpilot's error body."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
