"""Start-up warm-up (``core/warm_up.py`` through ``voice/tasks.py``), both back ends: with
``warm_up_routes`` on, the routes are prepared before the first request, so the first voice
question of a process no longer prepares the ~140 routes listed before its own (0.9-1.8 s under
load; bench/voice.py "cold"). A probe dependency counts how often FastAPI reads its signature,
which it does when it prepares the route that uses it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from tests.voice.voice_data import plants

from gridpilot.api.app import create_app
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.voice.tasks import VOICE

UTTERANCE = "/api/v1/voice/utterance"


class Probe:
    """A dependency that counts the reads of its signature (one per preparation)."""

    def __init__(self) -> None:
        self.prepared = 0

    @property
    def __signature__(self) -> inspect.Signature:
        self.prepared += 1
        return inspect.Signature()

    def __call__(self) -> int:
        return 1


async def started(settings: Settings, probe: Probe) -> AsyncIterator[FastAPI]:
    """The app with a probe route, started, its warm-up thread finished."""
    app = create_app(settings)
    router = APIRouter()

    @router.get("/probe")
    async def probed(value: int = Depends(probe)) -> dict[str, Any]:
        return {"value": value}

    app.include_router(router, prefix="/api/v1")
    async with app.router.lifespan_context(app):
        await runtime_of(app).require(VOICE).warm_up
        yield app


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"dr_interval_s": 0, "forecast_interval_s": 0, "baseline_refit_check_s": 0,
            "warm_up_routes": True}  # fmt: skip


async def test_routes_are_prepared_at_start_up_not_by_the_first_request(settings):
    probe = Probe()
    async for app in started(settings, probe):
        prepared = probe.prepared
        assert prepared >= 2  # when the route was made, and for its router inside the app
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            got = await client.get("/api/v1/probe")
            assert got.status_code == 200 and got.json() == {"value": 1}
        assert probe.prepared == prepared  # the first request prepared nothing


async def test_without_the_warm_up_the_first_request_prepares_its_route(settings):
    probe = Probe()
    async for app in started(settings.model_copy(update={"warm_up_routes": False}), probe):
        prepared = probe.prepared
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            await client.get("/api/v1/probe")
        assert probe.prepared == prepared + 1  # what the warm-up saves the first request


async def test_a_warmed_app_answers_its_first_voice_question(app, client, admin):
    await plants(app, client, admin)
    said = {"utterance": "How much energy did compressor one use in the last hour?"}
    got = await client.post(UTTERANCE, json=said, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["text"] == "Compressor 1 consumed 60 kilowatt-hours in the last hour."
