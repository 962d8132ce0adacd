"""Structured logs in the WIA-ENE-004 format.

``{"timestamp", "level", "service", "message", "context": {"requestId", "userId", "sourceId"}}``.
Request-scoped context lives in context variables that the API middleware sets.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)
source_id_var: ContextVar[str | None] = ContextVar("source_id", default=None)

_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "ERROR"}


class WiaJsonFormatter(logging.Formatter):
    """One JSON object per line, as the WIA log format asks."""

    def __init__(self, service: str = "gridpilot") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        context = {
            "requestId": request_id_var.get(),
            "userId": user_id_var.get(),
            "sourceId": source_id_var.get(),
        }
        extra = getattr(record, "context", None)
        if isinstance(extra, dict):
            context.update(extra)
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": _LEVEL_NAMES.get(record.levelname, record.levelname),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "context": context,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(
    level: str = "INFO", *, json: bool = True, service: str = "gridpilot"
) -> None:
    """Install one stderr handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_gridpilot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._gridpilot = True  # type: ignore[attr-defined]
    handler.setFormatter(
        WiaJsonFormatter(service)
        if json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
