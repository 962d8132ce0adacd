"""Which new alerts pop a toast on an open page: none for a flapping alert, and at most a few
per burst (a batch that raises 50 alerts gives three toasts and one pointer to the Alerts page,
not 50)."""

from __future__ import annotations

from collections import deque
from typing import Any

#: Toasts a page shows per ``WINDOW_MS`` [ms]; then one pointer to the Alerts page, then quiet
#: until the window has passed.
BURST = 3
WINDOW_MS = 10_000
MORE = "More new alerts: see the Alerts page"


class ToastGate:
    """Decides, per page, the text of the toast for a raised alert (None: stay quiet)."""

    def __init__(self, burst: int = BURST, window_ms: int = WINDOW_MS) -> None:
        self.burst, self.window_ms = burst, window_ms
        self.shown: deque[int] = deque()
        self.pointed = False  # the pointer of the current burst was shown

    def admit(self, payload: dict[str, Any], now_ms: int) -> str | None:
        """The toast for ``payload`` (an ``alert.raised`` event) at ``now_ms``, or None."""
        if payload.get("flapping"):
            return None  # raised again and again: the Alerts page lists it, no pop-up
        while self.shown and now_ms - self.shown[0] >= self.window_ms:
            self.shown.popleft()
        if len(self.shown) < self.burst:
            self.shown.append(now_ms)
            self.pointed = False
            return f"New alert: {payload.get('title')}"
        if self.pointed:
            return None
        self.pointed = True
        return MORE
