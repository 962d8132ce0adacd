"""Validation errors as answered: a bounded list and the total count.

A body can hold thousands of invalid values. The answer lists at most ``MAX_LISTED_ERRORS`` of
them (``details``: ``{"loc": [...], "msg": ...}``) and says how many there were, so an error
answer never outgrows the request that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gridpilot.core.errors import ValidationFailed

#: Errors listed in ``details``; the message gives the total count beyond.
MAX_LISTED_ERRORS = 20
#: Errors spelled out in the message itself.
MESSAGE_ERRORS = 5


def error_entry(loc: Iterable[object], msg: str) -> dict[str, Any]:
    """One listed error: where (path of keys and indexes, as text) and what."""
    return {"loc": [str(p) for p in loc], "msg": msg}


def invalid_request(listed: Sequence[dict[str, Any]], total: int = 0) -> ValidationFailed:
    """A 422 for ``total`` errors, of which ``listed`` are the first (at most 20 are kept)."""
    shown = list(listed[:MAX_LISTED_ERRORS])
    total = max(total, len(listed))
    text = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in shown[:MESSAGE_ERRORS])
    if total > MESSAGE_ERRORS:
        text += f" ({total} errors in all; the first {len(shown)} are in details)"
    return ValidationFailed(f"invalid request: {text}", details=shown)
