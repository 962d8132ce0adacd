"""The site page's sections: the global time range above the energy-flow card and the
balance history, and the cards for this month (the site's local calendar month up to now):
energy used, cost from the site's tariff, peak demand against the contract, self-sufficiency
and self-consumption where the site generates, else carbon. The figures are those of
``GET /api/v1/kpis`` for the same period (``compute_kpis``), drawn after the page answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui

from gridpilot.assets.models import Asset, Site
from gridpilot.auth.permissions import Principal
from gridpilot.balance.service import SiteBalance
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.web.context import current
from gridpilot.web.energy_flow import NO_DATA, NO_METER, flows_of, load_balances
from gridpilot.web.flow_view import flow_card, source_of
from gridpilot.web.numbers import UNKNOWN, energy, money, number, power, share
from gridpilot.web.time_range import Choice, Period, chosen, period_of, range_picker

#: The cards: (mark, label, Material icon, palette flow of the icon's colour).
CARDS = (
    ("month-energy", "Consumption this month", "home", "consumption"),
    ("month-cost", "Cost this month", "euro", "import"),
    ("month-peak", "Peak demand this month", "speed", "import"),
)
#: The fourth card: self-sufficiency where the site generates, else carbon.
SHARE_CARD = ("month-share", "Self-sufficiency this month", "eco", "generation")
CARBON_CARD = ("month-share", "Carbon this month", "co2", "import")


def _card(mark: str, label: str, icon: str, flow: str) -> tuple[ui.label, ui.label, ui.label]:
    """A card: its title, value and hint labels (the icon is the title's first child)."""
    with ui.card().classes("min-w-[9rem] grow basis-36 gap-1").props(f"data-testid=kpi-{mark}"):
        with ui.row().classes("items-center gap-1 no-wrap"):
            ui.icon(icon, size="1.1rem").classes(f"gp-{flow}").props(f"data-testid=kpi-{mark}-icon")
            title = ui.label(label).classes("text-caption text-grey-7")
        value = ui.label("computing\u2026").classes("text-h6")
        value.props(f"data-testid=kpi-{mark}-value")
        hint = ui.label().classes("text-caption text-grey-6").props(f"data-testid=kpi-{mark}-hint")
    return title, value, hint


def _value(figures: dict[str, Any], key: str) -> float | None:
    value = figures.get(key, {}).get("value")
    return None if value is None else float(value)


def consumption_note(figures: dict[str, Any]) -> str | None:
    """Why the period's consumption is shown unknown: ``NO_METER`` when the balance never
    measured nor derived it (a plant without a consumption or grid meter: only assumed 0),
    ``NO_DATA`` when it is known in no interval; None when it is known."""
    sources = figures.get("balance", {}).get("sources", {}).get("consumption")
    if sources is None:
        return None if _value(figures, "energy_kwh") is not None else NO_DATA
    if sources.get("measured", 0.0) + sources.get("derived", 0.0) > 0:
        return None
    return NO_METER if sources.get("absent", 0.0) > 0 else NO_DATA


def month_texts(figures: dict[str, Any], contract_kw: float | None) -> dict[str, tuple[str, str]]:
    """Each card's (value, hint) from ``compute_kpis``'s ``kpis``; consumption and its peak
    are a dash with the reason (``consumption_note``) where the balance does not know them."""
    cost = figures.get("cost", {})
    peak = _value(figures, "peak_demand_kw")
    used = _value(figures, "contract_utilization_pct")
    sufficiency = _value(figures, "self_sufficiency")
    unknown = consumption_note(figures)
    texts = {
        "month-energy": (energy(_value(figures, "energy_kwh")), "from the energy balance"),
        "month-cost": (
            money(_value(figures, "cost"), str(cost.get("unit") or "EUR"))
            if cost.get("value") is not None
            else "no tariff",
            "energy, demand and fixed charges" if cost.get("value") is not None else "",
        ),
        "month-peak": (
            power(peak),
            f"{number(used, '%', 0)} of the contract's {power(contract_kw)}"
            if used is not None and contract_kw
            else "highest 15-min average",
        ),
    }
    if unknown is not None:  # never 0.0 kWh / 0.0 kW for what nothing measured
        texts["month-energy"] = (UNKNOWN, unknown)
        texts["month-peak"] = (UNKNOWN, unknown)
    if sufficiency is not None and _value(figures, "generation_kwh"):
        consumed = _value(figures, "self_consumption")
        texts["month-share"] = (share(sufficiency), f"self-consumption {share(consumed)}")
    else:  # a consumer only: its carbon instead
        texts["month-share"] = (
            number(_value(figures, "carbon_kg"), "kg CO₂", 0),
            "carbon of the grid import",
        )
    return texts


def month_cards(user: Principal, site: Site, generates: bool) -> Callable[[], Awaitable[None]]:
    """The row of cards ("computing…" at first); returns the coroutine that fills them in."""
    shown = (*CARDS, SHARE_CARD if generates else CARBON_CARD)
    with ui.row().classes("w-full gap-3").props("data-testid=month-cards"):
        cards = {mark: _card(mark, label, icon, flow) for mark, label, icon, flow in shown}

    async def fill() -> None:
        period = period_of(Choice("This month"), site.timezone, now_ms())
        try:
            async with current().session() as session:
                result = await compute_kpis(
                    session=session,
                    principal=user,
                    start_ms=period.start_ms,
                    end_ms=period.end_ms,
                    site_id=site.id,
                )
        except GridpilotError as error:
            for _title, value, hint in cards.values():
                value.set_text(UNKNOWN)
                hint.set_text(str(error))
            return
        texts = month_texts(result["kpis"], site.contract_demand_kw)
        for mark, (shown, note) in texts.items():
            cards[mark][1].set_text(shown)
            cards[mark][2].set_text(note)
        if not texts["month-share"][1].startswith("self"):  # no consumption: no share
            cards["month-share"][0].set_text("Carbon this month")

    return fill


def period_section(
    site: Site,
    assets: Sequence[Asset],
    history: Callable[[Site], Callable[[Period, list[SiteBalance]], None]],
) -> Callable[[], Awaitable[None]]:
    """The global time-range picker above the energy-flow card and the card ``history``
    draws, side by side on a wide screen; returns the redraw of both for the chosen range
    (one balance statement for both)."""

    async def redraw() -> None:
        period = period_of(chosen(), site.timezone, now_ms())
        found = await load_balances([site], {site.id: (period.start_ms, period.end_ms)})
        show_flow(flows_of([b.balance for b in found]), period.text)
        draw_history(period, found)

    range_picker(redraw)
    producers = [(a.kind, a.role) for a in assets if a.role in ("producer", "prosumer")]
    with ui.row().classes("w-full gap-4 items-start"):
        show_flow = flow_card(source_of(producers))
        draw_history = history(site)
    return redraw
