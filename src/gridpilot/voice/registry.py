"""The intents: one entry each with its ``.intent`` files, its slots and its handler.

``REGISTRY`` order is the parser's tie-break order (a more specific intent first: "forecast
peak tomorrow" before "peak"). To add an intent: write ``locale/en-us/<name>.intent`` and
``locale/it-it/<name>.intent``, a handler ``async (Context, slots) -> Answer`` calling the
owning domain's service, and one ``Intent`` here (docs/voice.md).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from gridpilot.voice import handlers_energy as energy
from gridpilot.voice import handlers_ops as ops
from gridpilot.voice.parser import LOCALES, Parser
from gridpilot.voice.scope import Answer, Context

Handler = Callable[[Context, dict[str, Any]], Awaitable[Answer]]


@dataclass(frozen=True)
class Intent:
    """An intent: its name (the ``.intent`` file stem), slots it may carry, required ones,
    its handler, and an example per language (docs and tests)."""

    name: str
    slots: tuple[str, ...]
    handler: Handler
    required: tuple[str, ...] = ()

    def files(self) -> dict[str, str]:
        """The ``.intent`` file of each language (path inside the package)."""
        return {
            lang: f"voice/locale/{folder}/{self.name}.intent" for lang, folder in LOCALES.items()
        }


REGISTRY: dict[str, Intent] = {
    i.name: i
    for i in (
        Intent("correlation", ("target", "driver", "timeframe"), ops.correlation, ("target",)),
        Intent("forecast_peak", ("target",), ops.forecast_peak),
        Intent("machines_above_power", ("power_kw",), energy.machines_above_power, ("power_kw",)),
        Intent("co2_emissions", ("target", "timeframe"), energy.co2_emissions),
        Intent("energy_cost", ("target", "timeframe"), energy.energy_cost),
        Intent("active_alerts", ("target",), ops.active_alerts),
        Intent("dr_status", (), ops.dr_status),
        Intent("top_consumers", ("timeframe",), energy.top_consumers),
        Intent("peak_demand", ("target", "timeframe"), energy.peak_demand),
        Intent("energy_consumption", ("target", "timeframe"), energy.energy_consumption),
        Intent("current_power", ("target",), energy.current_power),
    )
}


_BUILD = threading.Lock()


@cache
def _built() -> Parser:
    return Parser(REGISTRY)


def parser() -> Parser:
    """The parser of every registered intent, built once per process (about 1.5 s; the voice
    runtime builds it in a thread at start-up, a lock keeps it to one build)."""
    with _BUILD:
        return _built()
