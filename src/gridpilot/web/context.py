"""The gridpilot app the dashboard pages belong to (NiceGUI pages are process-global)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.bus import EventBus
from gridpilot.core.errors import Unavailable
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.web.tokens import TokenStore


@dataclass
class WebContext:
    app: FastAPI
    #: The logged-in browsers' tokens (``web.dashboard_auth``), in memory only.
    tokens: TokenStore = field(default_factory=TokenStore)

    @property
    def settings(self) -> Settings:
        return runtime_of(self.app).settings

    @property
    def bus(self) -> EventBus:
        return runtime_of(self.app).bus

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read/write session in one transaction, committed on success."""
        async with runtime_of(self.app).sessions() as session, session.begin():
            yield session


_bound: list[WebContext] = []


def bind(app: FastAPI) -> None:
    """Make ``app`` the one the dashboard serves (one per process)."""
    _bound[:] = [WebContext(app)]


def current() -> WebContext:
    if not _bound:
        raise Unavailable("the dashboard is not mounted")
    return _bound[0]
