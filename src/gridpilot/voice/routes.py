"""HTTP routes of voice queries (the industrial seed's OVOS contract) and the seed's sample
REST routes. Thin: see ``voice.service``. Reads need READ; everything answered is limited to
the caller's sites and assets (an asset elsewhere is unknown: 404 or "I don't know ...")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from gridpilot.auth.dependencies import Reader
from gridpilot.balance.dependencies import CacheDep
from gridpilot.core.runtime import runtime_of
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.forecasts.tasks import weather_of
from gridpilot.voice.cache import AnswerCache
from gridpilot.voice.schemas import UtteranceAnswer, VoiceAnswer, VoiceQuery, VoiceUtterance
from gridpilot.voice.service import (
    Outcome,
    answer_query,
    answer_utterance,
    machine_correlation,
    machine_energy,
    machines_over,
)
from gridpilot.voice.tasks import VOICE_CACHE

router = APIRouter(tags=["voice"])

Name = Annotated[str, Path(min_length=1, max_length=200, examples=["compressor-1"])]


def _cache(request: Request) -> AnswerCache:
    """The app's answer cache (``voice.tasks``; made here when the runtime is not started)."""
    shared = runtime_of(request.app)
    return shared.get_or_make(VOICE_CACHE, lambda: AnswerCache(shared.settings.redis_url))


def _weather(request: Request) -> Any:
    return weather_of(request.app)


def _data(outcome: Outcome) -> dict[str, Any]:
    answer = outcome.answer
    return {"value": answer.value, "unit": answer.unit, "timeframe": answer.timeframe}


@router.post(
    "/voice/query",
    summary="Answer a voice intent with its entities (OVOS contract)",
    description=(
        "The industrial seed's contract: `{intent, entities}` in, `{text, data{value, unit, "
        "timeframe}}` out; `text` is written to be spoken. Intents and entities: docs/voice.md. "
        "An unknown asset or site answers 200 with a spoken 'I don't know ...' and value null."
    ),
    response_model=VoiceAnswer,
)
async def post_query(
    body: VoiceQuery, request: Request, principal: Reader, session: SessionDep, cache: CacheDep
) -> dict[str, Any]:
    outcome = await answer_query(
        session=session, principal=principal, settings=runtime_of(request.app).settings,
        intent=body.intent, entities=dict(body.entities), lang=body.lang, cache=_cache(request),
        balance_cache=cache, weather=_weather(request),
    )  # fmt: skip
    return {"text": outcome.answer.text, "data": _data(outcome)}


@router.post(
    "/voice/utterance",
    summary="Answer free text (parsed by gridpilot)",
    description=(
        "Free text as heard (English or Italian) is parsed against the `.intent` files; the "
        "answer adds the intent and entities understood. Out-of-domain text answers 'Sorry, I "
        "can't help with that.' with intent null."
    ),
    response_model=UtteranceAnswer,
)
async def post_utterance(
    body: VoiceUtterance, request: Request, principal: Reader, session: SessionDep,
    cache: CacheDep,
) -> dict[str, Any]:  # fmt: skip
    outcome = await answer_utterance(
        session=session, principal=principal, settings=runtime_of(request.app).settings,
        utterance=body.utterance, lang=body.lang, cache=_cache(request), balance_cache=cache,
        weather=_weather(request),
    )  # fmt: skip
    return {
        "text": outcome.answer.text,
        "data": _data(outcome),
        "intent": outcome.intent,
        "entities": outcome.slots,
        "lang": outcome.lang,
    }


@router.get(
    "/energy/machine/{slug}",
    summary="Energy of one machine over the last duration (seed sample route)",
    responses={404: {"description": "No such machine in your scope"}},
    description=(
        "`slug` is the machine's name or slug (`compressor-1` for 'Compressor 1'), `duration` "
        "15m, 1h, 24h, 7d (at most 366d). Energy [kWh] by telemetry's semantics (register "
        "deltas or power integral), its method and coverage."
    ),
)
async def get_machine_energy(
    slug: Name, request: Request, principal: Reader, session: SessionDep,
    duration: Annotated[str, Query(max_length=10, pattern=r"^[0-9]{1,4}[mhd]$")] = "1h",
) -> dict[str, Any]:  # fmt: skip
    return await machine_energy(
        session=session, principal=principal, settings=runtime_of(request.app).settings, slug=slug,
        duration=duration,
    )  # fmt: skip


@router.get(
    "/energy/machines",
    summary="Machines drawing more than a power now (seed sample route)",
    description=(
        "Consumers whose newest power reading (fresh: at most 5 min old, or two reporting "
        "intervals) exceeds `min_power` [kW], highest first."
    ),
)
async def get_machines(
    request: Request, principal: Reader, session: SessionDep,
    min_power: Annotated[float, Query(ge=0, le=1e9, description="kW")] = 0.0,
) -> dict[str, Any]:  # fmt: skip
    return await machines_over(
        session=session, principal=principal, settings=runtime_of(request.app).settings,
        min_power_kw=min_power,
    )  # fmt: skip


@router.get(
    "/analytics/correlation",
    summary="Correlation of a machine's daily energy with a driver (seed sample route)",
    responses={404: {"description": "No such machine or site in your scope"}},
    description=(
        "Ordinary least squares of the daily energy [kWh] of `machine` (an asset or a site) on "
        "the daily mean outdoor temperature [degC] of its site over the last `days` whole days "
        "(the ISO 50001 baseline code): Pearson's r, R2, slope [kWh/degC], p-value. When the "
        "site measures no outdoor temperature, `problem` says so and the figures are null."
    ),
)
async def get_correlation(
    request: Request, principal: Reader, session: SessionDep,
    machine: Annotated[str, Query(min_length=1, max_length=200)],
    driver: Annotated[str, Query(max_length=40)] = "temperature",
    days: Annotated[int, Query(ge=7, le=366)] = 30,
) -> dict[str, Any]:  # fmt: skip
    return await machine_correlation(
        session=session, principal=principal, settings=runtime_of(request.app).settings,
        machine=machine, driver=driver, days=days,
    )  # fmt: skip
