"""The registry of alert rule kinds: each kind is one ``RuleKind`` in ``KINDS``.

A registration names the kind, its params model (pydantic: defaults and bounds, units in the
field names), whether it needs a ``metric``, the checks it runs on each event (pure functions
over ``views.State``, in ``metric.py``, ``device.py`` and ``site.py``) and one line of docs.
The rule schemas (allowed kinds, params), the metric check of the service, the evaluator's
dispatch (``checks.Watch``) and the OpenAPI text of ``POST /alert-rules`` all read ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal

from pydantic import ValidationError

from gridpilot.alerts.kinds import device, metric, site
from gridpilot.alerts.views import AssetView, Decision, RuleView, SiteNow, SiteView, State
from gridpilot.core.bodies import Strict
from gridpilot.core.errors import ValidationFailed

ReadingCheck = Callable[[State, RuleView, AssetView, dict[str, Any], int], list[Decision]]
StatusCheck = Callable[[State, RuleView, AssetView, int], list[Decision]]
TickCheck = Callable[[State, RuleView, int], list[Decision]]
AnomalyCheck = Callable[[State, RuleView, AssetView, dict[str, Any], int], list[Decision]]
BalanceCheck = Callable[[State, RuleView, SiteView, SiteNow], list[Decision]]
ForecastCheck = Callable[[State, RuleView, SiteView, int | None, dict[str, Any]], list[Decision]]

#: The event each check hook runs on (for the docs).
HOOK_EVENTS = {
    "on_reading": "readings.stored",
    "on_balance": "readings.stored (the site's current balance)",
    "on_status": "asset.status",
    "on_anomaly": "anomaly.detected",
    "on_forecast": "forecast.stored",
    "on_tick": "every GRIDPILOT_ALERTS_EVAL_INTERVAL_S",
}


@dataclass(frozen=True)
class RuleKind:
    """One kind of alert rule. ``metric``: ``required`` (a catalogue metric), ``filter``
    (optional, narrows the events) or ``none`` (dropped). ``applies_to``: which sites a
    balance check needs the balance of (default: every site)."""

    name: str
    params: type[Strict]
    doc: str
    metric: Literal["required", "filter", "none"] = "none"
    on_reading: ReadingCheck | None = None
    on_balance: BalanceCheck | None = None
    on_status: StatusCheck | None = None
    on_anomaly: AnomalyCheck | None = None
    on_forecast: ForecastCheck | None = None
    on_tick: TickCheck | None = None
    applies_to: Callable[[SiteView], bool] | None = None

    @property
    def events(self) -> list[str]:
        """The events this kind reacts to."""
        return [event for hook, event in HOOK_EVENTS.items() if getattr(self, hook) is not None]

    def wants_balance(self, site: SiteView) -> bool:
        return self.on_balance is not None and (self.applies_to is None or self.applies_to(site))

    def validated(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` checked with defaults filled in; ``ValidationFailed`` (422) naming each
        field as ``params.<name>``."""
        try:
            return self.params.model_validate(params).model_dump()
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in ("params", *e["loc"])), "reason": e["msg"]}
                for e in exc.errors()
            ]
            raise ValidationFailed(
                f"invalid params for a {self.name} rule", details=problems
            ) from None

    def describe(self) -> str:
        """One markdown list item: the kind, its params with defaults and bounds, its doc."""
        needs = {"required": " (needs `metric`)", "filter": " (`metric` optional: a filter)"}
        params = ", ".join(_param_doc(n, s) for n, s in _properties(self.params).items())
        on = ", ".join(self.events)
        head = f"- `{self.name}`{needs.get(self.metric, '')}: {self.doc}"
        return f"{head} Params: {params}. Evaluated on: {on}."


def _properties(model: type[Strict]) -> dict[str, dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return {
        name: {**prop, "required": name in required}
        for name, prop in schema.get("properties", {}).items()
    }


def _param_doc(name: str, prop: dict[str, Any]) -> str:
    """``name`` with its choices or bounds and its default, from the JSON schema."""
    parts: list[str] = []
    for option in [prop, *prop.get("anyOf", [])]:
        if "enum" in option:
            parts.append("|".join(str(v) for v in option["enum"]))
        for key, sign in _BOUNDS.items():
            if key in option:
                parts.append(f"{sign} {_value(option[key])}")
    default = "required" if prop["required"] else f"default {_value(prop.get('default'))}"
    return f"`{name}` ({', '.join([*parts, default])})"


_BOUNDS = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<", "maximum": "<="}


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float | int) else str(value)


_REGISTERED = (
    RuleKind(
        name="threshold",
        params=metric.ThresholdParams,
        metric="required",
        doc="raised when the value is above (below) `threshold` for `duration_s`; resolved once "
        "it is back by `hysteresis` (same unit as the metric).",
        on_reading=metric.threshold_reading,
    ),
    RuleKind(
        name="rate_of_change",
        params=metric.RateParams,
        metric="required",
        doc="raised when the change between the oldest and the newest value within `window_s` "
        "exceeds `max_rate_per_min` (metric unit per minute) in `direction`; resolved when "
        "within the limit again.",
        on_reading=metric.rate_reading,
    ),
    RuleKind(
        name="stale",
        params=device.StaleParams,
        doc="raised when no reading arrived for `max_age_s` (null: `factor` x the asset's "
        "`expected_interval_s`, else GRIDPILOT_STATUS_DEFAULT_INTERVAL_S), or the device "
        "reported offline (`use_status`); resolved by fresh data or an online status.",
        on_reading=device.stale_reading,
        on_status=device.stale_status,
        on_tick=device.stale_tick,
    ),
    RuleKind(
        name="contract_demand",
        params=site.ContractDemandParams,
        doc="raised when the site's grid import (its current energy balance) exceeds "
        "`contract_demand_kw` x (1 + `margin_pct`/100) for `duration_s`; resolved at "
        "`hysteresis_pct` of the contract below that limit. Sites without a contract demand "
        "are not checked.",
        on_balance=site.contract_demand,
        applies_to=site.has_contract,
    ),
    RuleKind(
        name="forecast_contract",
        params=site.ForecastContractParams,
        doc="raised when a stored forecast's peak of site demand (net exchange or consumption; "
        "`band`) exceeds the contract demand by `margin_pct`; resolved by a later forecast "
        "below it.",
        on_forecast=site.forecast_contract,
    ),
    RuleKind(
        name="anomaly",
        params=device.AnomalyParams,
        metric="filter",
        doc="raised on an `anomaly.detected` event with `score` >= `min_score` and at least "
        "`min_severity`; resolved after `clear_after_s` without a new anomaly.",
        on_anomaly=device.anomaly_event,
        on_tick=device.anomaly_tick,
    ),
    RuleKind(
        name="balance_check",
        params=site.BalanceCheckParams,
        doc="raised when the site's current energy balance is flagged (its meters contradict "
        "import - export + generation + discharge - charge = consumption beyond the tolerance) "
        "for `duration_s`; resolved once the balance is complete and not flagged for "
        "`clear_after_s`. The message gives the residual [kW].",
        on_balance=site.balance_check,
    ),
)
KINDS: dict[str, RuleKind] = {kind.name: kind for kind in _REGISTERED}
KIND_NAMES: tuple[str, ...] = tuple(KINDS)
#: The hooks of ``RuleKind`` (for the evaluator's dispatch).
HOOKS = tuple(f.name for f in fields(RuleKind) if f.name.startswith("on_"))


def validated_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against ``kind`` with defaults filled in; ``ValidationFailed`` else."""
    return KINDS[kind].validated(params)


def rules_description() -> str:
    """The OpenAPI text of the rule kinds: one item per registered kind."""
    return "\n".join(kind.describe() for kind in KINDS.values())
