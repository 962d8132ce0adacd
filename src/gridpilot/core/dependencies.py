"""Request-level accessors for the app's runtime (``core/runtime.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gridpilot.core.bus import EventBus
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.validation_report import error_entry, invalid_request


async def get_settings(request: Request) -> Settings:
    settings: Settings = runtime_of(request.app).settings
    return settings


async def get_bus(request: Request) -> EventBus:
    bus: EventBus = runtime_of(request.app).bus
    return bus


SettingsDep = Annotated[Settings, Depends(get_settings)]
BusDep = Annotated[EventBus, Depends(get_bus)]


def refuse_unknown_query(request: Request, *names: str) -> None:
    """422 for query parameters other than ``names``, each unknown one in ``details`` as
    ``{"loc": ["query", name], "msg": ...}``: for routes where a parameter ignored silently
    would answer something other than what was asked (a ``start_time`` that a forecast route
    does not take). Called first in the route's body, so credentials are checked before."""
    unknown = sorted({key for key in request.query_params if key not in names})
    if unknown:
        listed = ", ".join(sorted(names)) or "none"
        raise invalid_request([
            error_entry(("query", key[:64]), f"unknown query parameter; known: {listed}")
            for key in unknown[:20]
        ], len(unknown))  # fmt: skip
