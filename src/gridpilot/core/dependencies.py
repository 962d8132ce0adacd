"""Request-level accessors for what ``create_app`` put on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gridpilot.core.bus import EventBus
from gridpilot.core.settings import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_bus(request: Request) -> EventBus:
    bus: EventBus = request.app.state.bus
    return bus


SettingsDep = Annotated[Settings, Depends(get_settings)]
BusDep = Annotated[EventBus, Depends(get_bus)]
