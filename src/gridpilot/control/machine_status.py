"""What a machine's status adds to online/offline (the industrial seed's ``machine_status``):
its total operating hours and its current alert level.

Operating hours are the newest reading of its ``operating_hours`` register [h] (the device's
own count; None when it reports none). The alert level (``normal``, ``warning``, ``critical``:
the highest severity among its open alerts, ``info`` counting as normal) comes from the
alerts domain, a sibling, through the reader the app puts in the runtime's ``ALERT_LEVELS``
slot (``alerts/levels.py::asset_alert_levels``, wired in ``api/app.py``); None without one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.metrics import find_metric_ref
from gridpilot.core.runtime import Slot
from gridpilot.telemetry.latest_batch import latest_of_metric

#: ``(session, asset ids) -> {asset id: level}`` for the assets with an open alert.
AlertLevels = Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, str]]]
LEVELS = ("normal", "warning", "critical")
#: Where the app keeps its alert-level reader (``core/runtime.py``).
ALERT_LEVELS: Slot[AlertLevels] = Slot("alert_levels")
HOURS_METRIC = "operating_hours"


@dataclass(frozen=True, slots=True)
class MachineFacts:
    """Operating hours [h] and when they were reported [epoch ms], and the alert level."""

    operating_hours_total: float | None = None
    operating_hours_ms: int | None = None
    alert_level: str | None = None


def alert_levels_of(app: Any) -> AlertLevels | None:
    """The alert-level reader the app was built with (None: alert levels are not known)."""
    runtime = getattr(app.state, "runtime", None)
    return None if runtime is None else runtime.get(ALERT_LEVELS)


async def machine_facts(
    *, session: AsyncSession, asset_ids: Sequence[int], levels: AlertLevels | None
) -> dict[int, MachineFacts]:
    """``MachineFacts`` of every asset of ``asset_ids`` (three statements in all)."""
    hours = {}
    ref = await find_metric_ref(session=session, key=HOURS_METRIC)
    if ref is not None:
        hours = await latest_of_metric(session=session, asset_ids=asset_ids, metric_id=ref.id)
    alerts = await levels(session, asset_ids) if levels is not None else None
    facts = {}
    for asset_id in asset_ids:
        latest = hours.get(asset_id)
        facts[asset_id] = MachineFacts(
            operating_hours_total=None if latest is None else round(latest.value, 4),
            operating_hours_ms=None if latest is None else latest.ts_ms,
            alert_level=None if alerts is None else alerts.get(asset_id, "normal"),
        )
    return facts
