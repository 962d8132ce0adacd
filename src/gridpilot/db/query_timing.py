"""Statement timings of an engine into a Prometheus histogram (``gridpilot_db_query_seconds``).

SQLAlchemy's cursor events bracket each statement on the connection that runs it; the start time
rides on the execution context, so concurrent statements on other connections don't mix. The
label is the statement's first keyword only (never its text or parameters): a bounded set.
"""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

KINDS = frozenset({"select", "insert", "update", "delete"})
_TOKENS = re.compile(r"[()]|[A-Za-z_]+")


def statement_kind(statement: str) -> str:
    """``select``, ``insert``, ``update``, ``delete`` or ``other``; a ``WITH`` statement counts
    by its first verb outside parentheses (the one after its CTEs)."""
    words = statement.lstrip().split(None, 1)
    first = words[0].lower() if words else ""
    if first != "with":
        return first if first in KINDS else "other"
    depth = 0
    for token in _TOKENS.finditer(statement):
        text = token.group(0)
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and text.lower() in KINDS:
            return text.lower()
    return "other"


def time_queries(engine: AsyncEngine, histogram: Histogram) -> None:
    """Observe every statement ``engine`` runs in ``histogram`` by ``statement_kind``."""

    def before(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is not None:
            context._gridpilot_started = time.perf_counter()

    def after(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        started = getattr(context, "_gridpilot_started", None)
        if started is not None:
            histogram.labels(statement_kind(statement)).observe(time.perf_counter() - started)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
