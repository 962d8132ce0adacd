"""Voice queries: an intent and its entities (the OVOS contract) or free text, answered for
speech, cached briefly and logged.

``answer_query`` takes the seed's ``{intent, entities}``; ``answer_utterance`` parses free text
first (``registry.parser``) and answers "I can't help with that" when no intent covers it. Both
log one ``voice_interactions`` row (who, what was heard, intent, slots, outcome, answer,
latency [ms], cached). Answers come from the caller's view only (``scope.resolve``).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import iso
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.telemetry.service import energy
from gridpilot.voice.cache import AnswerCache, cache_key
from gridpilot.voice.correlation import SUPPORTED_DRIVERS, TEMPERATURE_METRIC, correlate
from gridpilot.voice.handlers_energy import fresh_power
from gridpilot.voice.models import VoiceInteraction
from gridpilot.voice.parser import DRIVERS
from gridpilot.voice.registry import REGISTRY, parser
from gridpilot.voice.scope import (
    Answer,
    Context,
    Scope,
    Unresolved,
    interval_text,
    resolve,
    sites_of,
    spoken_key,
    window,
)
from gridpilot.voice.speech import say

#: Entity names of the contract and their slot ("machine" is the seed's).
ENTITY_SLOTS = {
    "machine": "target", "target": "target", "asset": "target", "site": "target",
    "timeframe": "timeframe", "min_power": "power_kw", "power_kw": "power_kw",
    "power": "power_kw", "driver": "driver",
}  # fmt: skip


@dataclass
class Outcome:
    """An answer with what was understood."""

    answer: Answer
    intent: str | None
    slots: dict[str, Any] = field(default_factory=dict)
    lang: str = "en"
    cached: bool = False


def slots_of(intent: str, entities: dict[str, Any]) -> dict[str, Any]:
    """The contract's entities as slots; ``ValidationFailed`` for an unknown intent, entity or
    a value that is not one."""
    spec = REGISTRY.get(intent)
    if spec is None:
        raise ValidationFailed(
            f"unknown intent {intent!r}: use one of {', '.join(sorted(REGISTRY))}"
        )
    slots: dict[str, Any] = {}
    for name, value in entities.items():
        slot = ENTITY_SLOTS.get(name)
        if slot is None or slot not in spec.slots:
            allowed = sorted(k for k, v in ENTITY_SLOTS.items() if v in spec.slots)
            raise ValidationFailed(
                f"intent {intent!r} takes no entity {name!r}: use {', '.join(allowed) or 'none'}"
            )
        if slot == "power_kw":
            try:
                slots[slot] = float(value)
            except ValueError:
                raise ValidationFailed(f"{name} must be a number of kW") from None
            if not 0 <= slots[slot] < 1e9:
                raise ValidationFailed(f"{name} must lie between 0 and 1e9 kW")
        elif slot == "timeframe":
            window(str(value), "UTC", 0)  # ValidationFailed for an unknown period
            slots[slot] = str(value)
        elif slot == "driver":
            key = spoken_key(str(value), "en")
            slots[slot] = DRIVERS.get(key, key)
        else:
            slots[slot] = str(value)[:200]
    missing = [s for s in spec.required if s not in slots]
    if missing:
        raise ValidationFailed(f"intent {intent!r} needs the entity {missing[0]!r}")
    return slots


async def _answer(ctx: Context, intent: str, slots: dict[str, Any], cache: AnswerCache | None
                  ) -> tuple[Answer, bool]:  # fmt: skip
    key = cache_key(ctx.principal, ctx.lang, intent, slots)
    if cache is not None and (found := await cache.get(key)) is not None:
        return found, True
    try:
        answer = await REGISTRY[intent].handler(ctx, slots)
    except Unresolved as unresolved:
        answer = unresolved.answer
    if cache is not None and answer.outcome in ("answered", "no_data"):
        await cache.put(key, answer)
    return answer, False


async def _log(ctx: Context, outcome: Outcome, *, channel: str, utterance: str | None,
               started: float) -> None:  # fmt: skip
    ctx.session.add(
        VoiceInteraction(
            subject=ctx.principal.subject[:200],
            user_id=ctx.principal.user_id,
            channel=channel,
            utterance=utterance[:1000] if utterance else None,
            lang=outcome.lang,
            intent=outcome.intent,
            slots=outcome.slots,
            outcome=outcome.answer.outcome,
            answer=outcome.answer.text[:2000],
            latency_ms=(time.perf_counter() - started) * 1000.0,
            cached=outcome.cached,
        )
    )
    await ctx.session.flush()


async def answer_query(
    *, session: AsyncSession, principal: Principal, settings: Settings, intent: str,
    entities: dict[str, Any], lang: str = "en", cache: AnswerCache | None = None,
    balance_cache: Any = None, weather: Any = None, now_ms: int | None = None,
) -> Outcome:  # fmt: skip
    """The spoken answer to an intent with its entities (the OVOS contract)."""
    started = time.perf_counter()
    slots = slots_of(intent, entities)
    ctx = Context(session, principal, settings, now_ms or clock_ms(), lang, balance_cache,
                  weather)  # fmt: skip
    answer, cached = await _answer(ctx, intent, slots, cache)
    outcome = Outcome(answer, intent, slots, lang, cached)
    await _log(ctx, outcome, channel="query", utterance=None, started=started)
    return outcome


async def answer_utterance(
    *, session: AsyncSession, principal: Principal, settings: Settings, utterance: str,
    lang: str | None = None, cache: AnswerCache | None = None, balance_cache: Any = None,
    weather: Any = None, now_ms: int | None = None,
) -> Outcome:  # fmt: skip
    """The spoken answer to free text; "I can't help with that" when out of domain."""
    started = time.perf_counter()
    parsed = parser().parse(utterance, lang)
    language = parsed.lang if parsed is not None else (lang or "en")
    ctx = Context(session, principal, settings, now_ms or clock_ms(), language, balance_cache,
                  weather)  # fmt: skip
    if parsed is None:
        outcome = Outcome(Answer(say("no_match", language), outcome="no_match"), None, {},
                          language)  # fmt: skip
    else:
        answer, cached = await _answer(ctx, parsed.intent, parsed.slots, cache)
        outcome = Outcome(answer, parsed.intent, parsed.slots, language, cached)
    await _log(ctx, outcome, channel="utterance", utterance=utterance, started=started)
    return outcome


async def recent_interactions(
    *, session: AsyncSession, principal: Principal, limit: int = 50
) -> list[VoiceInteraction]:
    """The caller's own latest interactions, newest first."""
    query = select(VoiceInteraction).where(VoiceInteraction.subject == principal.subject)
    query = query.order_by(VoiceInteraction.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


# The seed's sample REST routes (what its NLP mappings call), answered by the same code.

_DURATION = re.compile(r"^(\d{1,4})(m|h|d)$")
_DURATION_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str) -> int:
    """``15m``, ``1h``, ``7d`` [ms], 1 minute to 366 days; ``ValidationFailed`` otherwise."""
    match = _DURATION.match(text.strip().lower())
    span = int(match.group(1)) * _DURATION_MS[match.group(2)] if match else 0
    if not 60_000 <= span <= 366 * 86_400_000:
        raise ValidationFailed(f"duration {text!r} must be like 15m, 1h or 7d (at most 366d)")
    return span


async def find_machine(ctx: Context, name: str) -> Scope:
    """The visible asset ``name`` (a name or slug such as ``compressor-1``); ``NotFound``."""
    try:
        scope = await resolve(ctx, name)
    except Unresolved as unresolved:
        raise NotFound(f"machine {name!r} not found: {unresolved.answer.text}") from None
    if scope.kind != "asset":
        raise NotFound(f"machine {name!r} not found (it names a site)")
    return scope


async def machine_energy(
    *, session: AsyncSession, principal: Principal, settings: Settings, slug: str,
    duration: str, now_ms: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Energy [kWh] of one machine over the last ``duration``."""
    span = duration_ms(duration)
    ctx = Context(session, principal, settings, now_ms or clock_ms(), "en")
    machine = await find_machine(ctx, slug)
    start, end = ctx.now_ms - span, ctx.now_ms
    result = await energy(session=session, asset_id=machine.id, start_ms=start, end_ms=end,
                          max_gap_s=settings.energy_max_gap_s)  # fmt: skip
    return {
        "machine": {"id": machine.id, "name": machine.name, "site_id": machine.site_id},
        "duration": duration,
        "start": iso(start),
        "end": iso(end),
        "timeframe": interval_text(start, end, machine.timezone),
        "energy_kwh": result.energy_kwh,
        "method": result.method,
        "coverage": result.coverage,
    }


async def machines_over(
    *, session: AsyncSession, principal: Principal, settings: Settings, min_power_kw: float,
    now_ms: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The visible consumers whose newest fresh power reading exceeds ``min_power_kw``."""
    ctx = Context(session, principal, settings, now_ms or clock_ms(), "en")
    sites = await sites_of(ctx)
    power = await fresh_power(ctx, [s.id for s in sites]) if sites else {}
    over = sorted(
        ((-value, asset_id, name) for asset_id, (name, value) in power.items()
         if value > min_power_kw)
    )  # fmt: skip
    rows = [{"id": a, "name": n, "power_kw": -v} for v, a, n in over]
    return {"min_power_kw": min_power_kw, "at": iso(ctx.now_ms), "machines": rows}


async def machine_correlation(
    *, session: AsyncSession, principal: Principal, settings: Settings, machine: str,
    driver: str, days: int, now_ms: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Regression of a machine's (or site's) daily energy on the outdoor temperature."""
    key = DRIVERS.get(spoken_key(driver, "en"), driver)
    if key not in SUPPORTED_DRIVERS:
        raise ValidationFailed(f"driver must be one of {', '.join(SUPPORTED_DRIVERS)}")
    ctx = Context(session, principal, settings, now_ms or clock_ms(), "en")
    try:
        scope = await resolve(ctx, machine)
    except Unresolved as unresolved:
        raise NotFound(f"{machine!r} not found: {unresolved.answer.text}") from None
    found = await correlate(ctx, scope, driver=key, days=days)
    body = {k: v for k, v in asdict(found).items() if k != "scope"}
    body["machine"] = {"id": scope.id, "name": scope.name, "kind": scope.kind,
                       "site_id": scope.site_id}  # fmt: skip
    if found.problem == "no_driver_data":
        body["problem"] = (
            f"no outdoor temperature ({TEMPERATURE_METRIC}) is measured at site {scope.site_id}"
        )
    return body


async def prune_interactions(*, session: AsyncSession, before: dt.datetime) -> int:
    """Delete the interactions logged before ``before``; how many."""
    result = await session.execute(delete(VoiceInteraction).where(VoiceInteraction.at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
