"""Structured logs in the WIA-ENE-004 format.

``{"timestamp", "level", "service", "message", "context": {"requestId", "userId", "sourceId"}}``.
Request-scoped context lives in context variables that the API middleware sets.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

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


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class QuietWebSocketChatter(logging.Filter):
    """Drops uvicorn's per-connection WebSocket lines below WARNING ("connection open",
    "connection closed", '"WebSocket /path" [accepted]'): the dashboard opens one per page view,
    and they drown the log at INFO. Shown again when the log level is DEBUG."""

    CHATTER = frozenset({"connection open", "connection closed", '%s - "WebSocket %s" [accepted]'})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or record.msg not in self.CHATTER:
            return True
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def logging_config(
    level: str = "INFO", *, json: bool = True, service: str = "gridpilot"
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict equivalent to :func:`configure_logging`.

    Hand it to uvicorn (``log_config=``): uvicorn applies it in every worker process, so the
    server's own loggers (``uvicorn``, ``uvicorn.error``) write the same JSON lines as ours.
    uvicorn's access logger is silenced: the API middleware writes one access line per request.
    """
    formatter: dict[str, Any] = (
        {"()": "gridpilot.core.logging.WiaJsonFormatter", "service": service}
        if json
        else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gridpilot": formatter},
        "filters": {"ws_chatter": {"()": "gridpilot.core.logging.QuietWebSocketChatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "gridpilot",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {
                "level": level.upper(),
                "handlers": [],
                "propagate": True,
                "filters": ["ws_chatter"],
            },
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure_logging(
    level: str = "INFO", *, json: bool = True, service: str = "gridpilot"
) -> None:
    """Install one stderr handler on the root logger (idempotent); Python warnings (a
    library's deprecation notice at import) go through it too, as log lines, not raw text."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_gridpilot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._gridpilot = True  # type: ignore[attr-defined]
    handler.setFormatter(WiaJsonFormatter(service) if json else logging.Formatter(PLAIN_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own handlers would print plain text
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietWebSocketChatter) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(QuietWebSocketChatter())
