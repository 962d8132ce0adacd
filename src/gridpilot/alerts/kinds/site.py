"""Rule kinds on a site as a whole, from its energy balance (docs/site-energy.md):
``contract_demand`` (grid import now vs the contract), ``forecast_contract`` (a forecast peak vs
the contract) and ``balance_check`` (meters that contradict the balance identity).

Site demand against the contract is the site's **grid import** [kW] of its current balance:
the main meter's import where there is one (sub-meters below it are not added to it), else the
import derived from the other terms (consumption - generation - discharge + charge); a site
exporting has 0 import. Site alerts have ``asset_id`` None (forecasts of an asset aside).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gridpilot.alerts.views import (
    BALANCE_TERMS,
    Clear,
    Decision,
    Raise,
    RuleView,
    Seconds,
    SiteNow,
    SiteView,
    State,
    subject_of,
)
from gridpilot.core.bodies import Strict
from gridpilot.core.timestamps import iso

#: Forecast quantities (``forecast.stored`` ``quantity``) comparable with the contract: the net
#: exchange (consumption - generation) and consumption alone (an upper bound of the import);
#: events without a quantity are load forecasts.
DEMAND_QUANTITIES = frozenset({"net", "consumption", "import", None})


class ContractDemandParams(Strict):
    """Grid import above the contract demand by ``margin_pct`` [%] for ``duration_s`` [s];
    clears ``hysteresis_pct`` [% of the contract] below the limit."""

    margin_pct: float = Field(default=0.0, ge=-100, le=1000)
    hysteresis_pct: float = Field(default=2.0, ge=0, le=100)
    duration_s: Seconds = 0.0


class ForecastContractParams(Strict):
    """A forecast's peak (``band``) above the contract demand by ``margin_pct`` [%]."""

    band: Literal["yhat", "hi80", "hi95"] = "yhat"
    margin_pct: float = Field(default=0.0, ge=-100, le=1000)


class BalanceCheckParams(Strict):
    """The current balance flagged (meters contradict the identity) for ``duration_s`` [s];
    clears once complete and not flagged for ``clear_after_s`` [s]."""

    duration_s: Seconds = 900.0
    clear_after_s: Seconds = 0.0


def has_contract(site: SiteView) -> bool:
    return bool(site.contract_demand_kw)


def contract_demand(state: State, rule: RuleView, site: SiteView, now: SiteNow) -> list[Decision]:
    """The site's grid import now against its contract demand (unknown import: no decision)."""
    contract, demand = site.contract_demand_kw, now.power_kw.get("import")
    if not contract or demand is None or now.newest_ms is None:
        return []
    p = rule.params
    limit = contract * (1 + float(p["margin_pct"]) / 100)
    key = (rule.id, subject_of(site.id, None))
    action = state.step(
        key,
        now.newest_ms,
        demand > limit,
        demand <= limit - contract * float(p["hysteresis_pct"]) / 100,
        float(p["duration_s"]),
    )
    if action == "raise":
        title = f"{site.name}: demand above contract ({contract:g} kW)"
        message = f"Grid import {demand:.1f} kW exceeds {limit:.1f} kW ({rule.name})"
        detail = {
            "demand_kw": demand,
            "contract_demand_kw": contract,
            "limit_kw": limit,
            "ts": now.newest_ms,
            "balance_kw": now.power_kw,
        }
        return [Raise(rule.id, site.id, None, title, message, demand, detail)]
    if action == "clear":
        return [Clear(rule.id, key[1], demand)]
    return []


def balance_check(state: State, rule: RuleView, site: SiteView, now: SiteNow) -> list[Decision]:
    """Raise when the balance stays flagged for ``duration_s``; an incomplete balance (a term
    unknown) neither raises nor clears."""
    if now.newest_ms is None:
        return []
    p = rule.params
    key = (rule.id, subject_of(site.id, None))
    action = state.step(
        key,
        now.newest_ms,
        now.flagged,
        now.complete and not now.flagged,
        float(p["duration_s"]),
        float(p["clear_after_s"]),
    )
    residual = now.residual_kw
    if action == "clear":
        return [Clear(rule.id, key[1], residual)]
    if action != "raise":
        return []
    if residual is not None and abs(residual) > 1e-9:
        why = f"residual {residual:+.1f} kW"
    else:
        values = [(t, now.power_kw.get(t)) for t in BALANCE_TERMS]
        why = ", ".join(f"{t} {v:.1f} kW" for t, v in values if v is not None and v < 0)
        why = why or "flagged"
    title = f"{site.name}: meters contradict the site balance"
    message = (
        f"import - export + generation + discharge - charge - consumption does not add up: "
        f"{why} ({rule.name})"
    )
    detail = {"residual_kw": residual, "balance_kw": now.power_kw, "ts": now.newest_ms}
    return [Raise(rule.id, site.id, None, title, message, residual, detail)]


def forecast_contract(
    state: State, rule: RuleView, site: SiteView, asset_id: int | None, payload: dict[str, Any]
) -> list[Decision]:
    """A stored forecast's peak of site demand against the contract (a generation forecast is
    not compared); a later forecast below it clears."""
    peak = payload.get("peak") or {}
    if not site.contract_demand_kw or payload.get("quantity") not in DEMAND_QUANTITIES:
        return []
    if rule.asset_id is not None and rule.asset_id != asset_id:
        return []
    value = peak.get(rule.params["band"])
    if not isinstance(value, int | float):
        return []
    limit = site.contract_demand_kw * (1 + float(rule.params["margin_pct"]) / 100)
    key = (rule.id, subject_of(site.id, asset_id))
    if value > limit and key not in state.open:
        at = iso(int(peak["ts"])) if isinstance(peak.get("ts"), int) else "?"
        title = f"{site.name}: forecast peak above contract demand"
        message = (
            f"Forecast {rule.params['band']} peak {value:.1f} kW at {at} exceeds "
            f"{limit:.1f} kW ({rule.name})"
        )
        detail = {
            "peak": peak,
            "quantity": payload.get("quantity"),
            "issued_ms": payload.get("issued_ms"),
            "limit_kw": limit,
        }
        return [Raise(rule.id, site.id, asset_id, title, message, value, detail)]
    if value <= limit and key in state.open:
        return [Clear(rule.id, key[1], float(value))]
    return []
