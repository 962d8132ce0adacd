"""What a voice query is about: the caller's context, the asset or site it names, its period.

A spoken name is matched against the assets and sites the caller may see, never others: a
viewer limited to one site hears of nothing else ("I don't know anything called ..."). Names
are compared normalised (``text.normalise`` and number words as digits, so "compressor one",
"Compressor 1" and the seed's slug ``compressor-1`` are the same) by ``rapidfuzz``'s WRatio;
a name with numbers only matches names with the same numbers (never "compressor 2" for
"compressor 1"), and two candidates scoring alike are an ambiguity to ask about, not a guess.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.periods import PERIODS
from gridpilot.analytics.periods import window as period_window
from gridpilot.assets.service import list_assets, list_sites
from gridpilot.auth.permissions import Principal
from gridpilot.core.settings import Settings
from gridpilot.voice.parser import ARTICLES
from gridpilot.voice.speech import listing, say
from gridpilot.voice.text import normalise, numbers_to_digits

#: Minimum WRatio [0, 100] of a spoken name against an asset or site name.
MIN_SCORE = 80.0
#: Spoken words that mean "the whole site".
SITE_WORDS = frozenset(
    [
        "site",
        "plant",
        "factory",
        "facility",
        "building",
        "company",
        "sito",
        "impianto",
        "stabilimento",
        "fabbrica",
        "edificio",
        "azienda",
        "everything",
        "total",
        "tutto",
    ]
)
MONTHS_EN = "January February March April May June July August September October November December"
MONTHS_IT = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
)
TIMEFRAMES = PERIODS


@dataclass(frozen=True)
class Answer:
    """A spoken answer and its figure (``value`` None when there is none)."""

    text: str
    value: float | None = None
    unit: str | None = None
    timeframe: str | None = None
    outcome: str = "answered"  # answered | no_data | no_match | unknown_target | ambiguous


@dataclass
class Context:
    """One voice query's caller, database session, settings, clock [ms] and language."""

    session: AsyncSession
    principal: Principal
    settings: Settings
    now_ms: int
    lang: str
    balance_cache: Any = None
    weather: Any = None


@dataclass(frozen=True)
class Scope:
    """An asset or a whole site, with its name and its site's id and time zone."""

    kind: str  # asset | site
    id: int
    name: str
    site_id: int
    timezone: str
    role: str | None = None


class Unresolved(Exception):
    """The name cannot be resolved; ``answer`` says why, in the caller's language."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.text)
        self.answer = answer


def spoken_key(name: str, lang: str) -> str:
    """A name as compared: normalised, numbers as digits, articles dropped."""
    words = numbers_to_digits(normalise(name), lang).split()
    while words and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


async def sites_of(ctx: Context) -> list[Scope]:
    """The sites the caller may see as whole-site scopes."""
    sites = await list_sites(session=ctx.session, principal=ctx.principal)
    return [Scope("site", s.id, s.name, s.id, s.timezone) for s in sites]


async def assets_of(ctx: Context, sites: list[Scope] | None = None) -> list[Scope]:
    """The assets the caller may see (``sites``: the caller's sites when already read)."""
    zones = {s.id: s.timezone for s in (sites if sites is not None else await sites_of(ctx))}
    assets = await list_assets(session=ctx.session, principal=ctx.principal, limit=10_000)
    return [
        Scope("asset", a.id, a.name, a.site_id, zones.get(a.site_id, "UTC"), a.role)
        for a in assets
        if a.site_id in zones
    ]


def _options(found: list[Scope], lang: str) -> str:
    return listing([s.name for s in found[:4]], lang)


async def default_site(ctx: Context) -> Scope:
    """The caller's only site, else ``Unresolved`` asking which."""
    sites = await sites_of(ctx) if ctx.principal.asset_ids is None else []
    if len(sites) == 1:
        return sites[0]
    if not sites:
        raise Unresolved(Answer(say("no_sites", ctx.lang), outcome="unknown_target"))
    text = say("which_site", ctx.lang, options=_options(sites, ctx.lang))
    raise Unresolved(Answer(text, outcome="ambiguous"))


async def resolve(ctx: Context, spoken: str | None, *, sites_only: bool = False) -> Scope:
    """The asset or site ``spoken`` names (the only site when None or a word for "site")."""
    key = spoken_key(spoken or "", ctx.lang)
    if not key or key in SITE_WORDS or (key.split()[0] in SITE_WORDS and len(key.split()) == 1):
        return await default_site(ctx)
    sites = await sites_of(ctx)
    candidates = list(sites) if ctx.principal.asset_ids is None else []
    if not sites_only:
        candidates += await assets_of(ctx, sites)
    scored: list[tuple[float, Scope]] = []
    for scope in candidates:
        name = spoken_key(scope.name, ctx.lang)
        if not _tokens_fit(key, name):
            continue
        score = 100.0 if name == key else float(fuzz.WRatio(key, name))
        if score >= MIN_SCORE:
            scored.append((score, scope))
    scored.sort(key=lambda pair: (-pair[0], pair[1].kind != "asset", pair[1].id))
    if not scored:
        text = say("unknown_target", ctx.lang, name=spoken)
        raise Unresolved(Answer(text, outcome="unknown_target"))
    best = [s for score, s in scored if score >= scored[0][0] - 0.5]
    if len(best) > 1 and scored[0][0] < 100.0:
        text = say("ambiguous", ctx.lang, options=_options(best, ctx.lang))
        raise Unresolved(Answer(text, outcome="ambiguous"))
    return best[0]


def _tokens_fit(spoken: str, name: str) -> bool:
    """Every spoken word is in the name, or (4 letters or more) a close spelling of one of
    its words: "plant b" never fits "Plant A", "compressor 1" never "Compressor 2", while
    "the compresor" fits "Compressor 1" (then ranked by WRatio)."""
    words = name.split()
    if not words:
        return False
    for token in spoken.split():
        if token in words:
            continue
        if len(token) < 4 or token.isdigit():
            return False
        if max(fuzz.ratio(token, w) for w in words) < MIN_SCORE:
            return False
    return True


def window(key: str, timezone: str, now_ms: int) -> tuple[int, int]:
    """``[start, end)`` [epoch ms] of a period key, calendar periods in the site's zone."""
    return period_window(key, timezone, now_ms, noun="timeframe")


def interval_text(start_ms: int, end_ms: int, timezone: str) -> str:
    """``2025-10-08T14:00+02:00/2025-10-08T15:00+02:00``: an ISO-8601 interval, local time."""
    zone = ZoneInfo(timezone)

    def one(ms: int) -> str:
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=zone)
        return moment.isoformat(timespec="minutes")

    return f"{one(start_ms)}/{one(end_ms)}"


def local_time(ms: int, timezone: str, lang: str, *, with_day: bool = True) -> str:
    """The spoken local time: "3 December at 14:15" / "3 dicembre alle 14:15" (or just "14:15")."""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(timezone))
    clock = moment.strftime("%H:%M")
    if not with_day:
        return clock
    months_en = MONTHS_EN.split()
    months_it = MONTHS_IT.split()
    if lang == "it":
        return f"{moment.day} {months_it[moment.month - 1]} alle {clock}"
    return f"{moment.day} {months_en[moment.month - 1]} at {clock}"
