"""Which new alerts pop a toast on an open page: only those of the user's sites that their
in-app notification preferences let through (docs/notifications.md), none for a flapping alert,
and at most a few per burst (a batch that raises 50 alerts gives three toasts and one pointer to
the Alerts page, not 50)."""

from __future__ import annotations

from collections import deque
from typing import Any

from gridpilot.alerts import preference_service
from gridpilot.auth.permissions import Principal
from gridpilot.web.context import current

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


async def wanted(user: Principal, payload: dict[str, Any], now_ms: int) -> bool:
    """Whether ``user`` wants a toast for ``payload`` (an ``alert.raised`` event): a site they
    can see, and their in-app preferences (severity, kind, site) let it through."""
    if not user.can_see_site(int(payload.get("site_id") or 0)):
        return False
    if user.user_id is None:
        return True
    async with current().session() as session:
        return await preference_service.in_app_wanted(
            session=session, user_id=user.user_id, payload=payload, now_ms=now_ms
        )
