"""The "Now" panel of the overview and the site page: the current balance [kW] of some sites,
refreshed every ``NOW_REFRESH_S`` from the in-memory cache (``web.fleet_view.current_totals``)."""

from __future__ import annotations

from collections.abc import Collection

from nicegui import ui

from gridpilot.web.charts import LABELS
from gridpilot.web.fleet_view import NowTotals
from gridpilot.web.numbers import power

#: How often "Now" is refreshed [s].
NOW_REFRESH_S = 5.0
#: The terms always shown; storage only where some site has it.
BASE_TERMS = ("consumption", "generation", "import", "export")


def now_terms(present: Collection[str]) -> tuple[str, ...]:
    """The terms to show for sites whose balance has the terms ``present``."""
    return BASE_TERMS + tuple(t for t in ("discharge", "charge") if t in present)


def now_panel(first: NowTotals, terms: tuple[str, ...]) -> dict[str, ui.label]:
    """A card with each term's power now; returns the labels by term (and ``reporting``)."""
    labels: dict[str, ui.label] = {}
    with ui.card().classes("w-full").props("data-testid=now"):
        with ui.row().classes("w-full items-baseline justify-between"):
            ui.label("Now").classes("text-subtitle1")
            labels["reporting"] = (
                ui.label().classes("text-caption text-grey-7").props("data-testid=now-reporting")
            )
        with ui.row().classes("w-full gap-x-8 gap-y-2"):
            for term in terms:
                with ui.column().classes("gap-0 min-w-[8rem]"):
                    ui.label(LABELS[term]).classes("text-caption text-grey-7 gp-accent").style(
                        f"border-color: var(--gp-{term})"
                    )
                    labels[term] = ui.label().classes("text-h6").props(f"data-testid=now-{term}")
    show_now(labels, first)
    return labels


def show_now(labels: dict[str, ui.label], totals: NowTotals) -> None:
    """Write ``totals`` into the panel's labels."""
    for term, label in labels.items():
        if term != "reporting":
            label.set_text(power(totals.power_kw[term]))
    sites = "site" if totals.sites == 1 else "sites"
    labels["reporting"].set_text(
        f"{totals.reporting:,} of {totals.sites:,} {sites} reporting · "
        f"refreshed every {NOW_REFRESH_S:.0f} s"
    )
