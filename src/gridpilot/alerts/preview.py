"""What a rule would have raised over a past period: the rule's own check replayed over stored
data, for the kinds whose check is a pure function of one metric's values (``threshold``,
``rate_of_change``).

The replay feeds each covered asset's 1-minute averages (rollups: one cheap read per asset) to
the kind's ``on_reading`` check with a fresh ``State``, as the evaluator feeds the newest value
of each stored batch. So a spike shorter than a minute can be missed, and an alert open at the
start of the period is not known. The other kinds depend on state that is not stored as a
series (device status, the site balance at each moment, anomaly and forecast events): they are
not previewed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.kinds import KINDS
from gridpilot.alerts.views import Clear, Raise, RuleView, State
from gridpilot.assets import service as assets
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.queries import series

#: Rule kinds a preview can replay.
PREVIEW_KINDS = ("threshold", "rate_of_change")
#: Assets replayed at most (the first by id); the preview says when there were more.
MAX_ASSETS = 50
STEP_MS = 60_000


@dataclass
class Preview:
    """The alerts the rule would have raised, oldest first, and what the replay covered."""

    raised: list[Raise] = field(default_factory=list)
    raised_ms: list[int] = field(default_factory=list)
    assets_checked: int = 0
    assets_in_scope: int = 0
    points: int = 0


@dataclass(frozen=True)
class Draft:
    """The rule as the form holds it (not stored)."""

    kind: str
    metric: str | None
    params: dict[str, Any]
    site_id: int | None = None
    asset_id: int | None = None
    asset_kind: str | None = None


async def preview_rule(
    *, session: AsyncSession, principal: Principal, draft: Draft, hours: int = 24
) -> Preview:
    """Replay ``draft`` over the last ``hours`` of the assets it covers that ``principal`` may
    see. ``ValidationFailed`` for a kind that cannot be previewed or an unknown metric."""
    if draft.kind not in PREVIEW_KINDS:
        raise ValidationFailed(f"a {draft.kind} rule cannot be previewed over stored data")
    params = KINDS[draft.kind].validated(draft.params)
    metric = await assets.find_metric_ref(session=session, key=draft.metric or "")
    if metric is None:
        raise ValidationFailed(f"unknown metric {draft.metric!r}")
    rule = RuleView(
        0,
        "preview",
        draft.kind,
        metric.key,
        draft.site_id,
        draft.asset_id,
        draft.asset_kind,
        params,
    )
    covered = [
        a
        for a in await assets.asset_summaries(session=session)
        if rule.covers(a) and assets.can_see_asset(principal, a.id, a.site_id)
    ]
    end = now_ms()
    start = end - hours * 3_600_000
    check = KINDS[draft.kind].on_reading
    assert check is not None
    found = Preview(assets_in_scope=len(covered))
    for asset in covered[:MAX_ASSETS]:
        data = await series(
            session=session,
            asset_id=asset.id,
            metric_id=metric.id,
            start_ms=start,
            end_ms=end,
            step_ms=STEP_MS,
            agg="avg",
            max_points=hours * 60 + 1,
        )
        state = State()
        for point in data.points:
            if point.value is None:
                continue
            latest = {metric.key: {"ts": point.ts_ms, "value": float(point.value)}}
            for decision in check(state, rule, asset, latest, point.ts_ms):
                key = (decision.rule_id, decision.subject)
                if isinstance(decision, Clear):
                    state.open.discard(key)  # as the evaluator does once the alert is resolved
                    continue
                state.open.add(key)
                found.raised.append(decision)
                found.raised_ms.append(point.ts_ms)
        found.assets_checked += 1
        found.points += len(data.points)
    return found
