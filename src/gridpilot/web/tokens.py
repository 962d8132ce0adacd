"""The dashboard's tokens, kept in this process's memory only, by browser session.

A browser is known by the id in its signed session cookie (NiceGUI's ``app.storage.browser``).
Nothing of a login is written to disk: NiceGUI's per-browser storage files hold only display
preferences. A restart of the server logs every dashboard user out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

#: Logged-in browsers remembered per process; beyond it the least recently used is forgotten.
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str
    #: ``time.monotonic()`` after which the refresh token has expired.
    refresh_expires: float


class TokenStore:
    """Tokens by browser id, least recently used first (bounded by ``max_sessions``)."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self._sessions: dict[str, Tokens] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, browser: str) -> Tokens | None:
        tokens = self._sessions.pop(browser, None)
        if tokens is None or tokens.refresh_expires <= time.monotonic():
            return None
        self._sessions[browser] = tokens  # now the most recently used
        return tokens

    def put(self, browser: str, access: str, refresh: str, refresh_ttl_s: int) -> None:
        self._sessions.pop(browser, None)
        self._sessions[browser] = Tokens(access, refresh, time.monotonic() + refresh_ttl_s)
        while len(self._sessions) > self.max_sessions:
            del self._sessions[next(iter(self._sessions))]

    def pop(self, browser: str) -> Tokens | None:
        return self._sessions.pop(browser, None)
