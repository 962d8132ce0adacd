"""The "Now" panel of the overview and the site page: the current balance [kW] of some sites,
refreshed every ``NOW_REFRESH_S`` from the in-memory cache (``web.fleet_view.current_totals``);
where no site has a fresh reading, why its figures are dashes (when the last one came)."""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from typing import Any

from nicegui import ui

from gridpilot.fleet.service import CURRENT_MAX_AGE_MS
from gridpilot.web.charts import LABELS
from gridpilot.web.fleet_view import NowTotals
from gridpilot.web.numbers import UNKNOWN, local_datetime, power

#: How often "Now" is refreshed [s].
NOW_REFRESH_S = 5.0
#: The terms always shown; storage only where some site has it.
BASE_TERMS = ("consumption", "generation", "import", "export")


def now_terms(present: Collection[str], generates: bool = True) -> tuple[str, ...]:
    """The terms to show for sites whose balance has the terms ``present``; a consumer only
    (no generation, no storage: ``generates`` False) shows consumption and grid import, no
    generation or export that can only be 0."""
    storage = tuple(t for t in ("discharge", "charge") if t in present)
    if not generates and not storage:
        return ("consumption", "import")
    return BASE_TERMS + storage


def silence(totals: NowTotals, timezone: str) -> tuple[str, str]:
    """Why the panel shows dashes: no site with a fresh power reading, and when the last
    reading came in ``timezone`` (``""`` when none ever came); ``("", "")`` when one has."""
    if totals.reporting or not totals.sites:
        return "", ""
    if totals.last_ms is None:
        return "Never reported: no power reading yet", ""
    minutes = CURRENT_MAX_AGE_MS // 60_000
    return f"No reading in the last {minutes} min", local_datetime(totals.last_ms, timezone)


def _reason_html(why: str, when: str) -> str:
    """The reason, its time kept on one line (a phone would break the date at a hyphen)."""
    if not when:
        return escape(why)
    return f'{escape(why)} <span class="whitespace-nowrap">(the last at {escape(when)})</span>'


def now_panel(first: NowTotals, terms: tuple[str, ...], timezone: str) -> dict[str, Any]:
    """A card with each term's power now and, where it has none, why (times in
    ``timezone``); returns the labels by term (and ``reporting``, ``reason``)."""
    labels: dict[str, Any] = {}
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
        labels["reason"] = ui.html("", sanitize=False).classes("text-body2 text-grey-7")
        labels["reason"].props("data-testid=now-reason")
    show_now(labels, first, timezone)
    return labels


def now_text(totals: NowTotals, term: str) -> str:
    """``term``'s power now; a dash while no site reports (a figure derived from stale or
    no readings, ``0.0 kW``, would read as measured), and for a consumption no meter measures
    (a plant's, only assumed 0)."""
    if totals.sites and not totals.reporting:
        return UNKNOWN
    if term == "consumption" and totals.unmetered_consumption:
        return UNKNOWN
    return power(totals.power_kw.get(term))


def show_now(labels: dict[str, Any], totals: NowTotals, timezone: str) -> None:
    """Write ``totals`` into the panel's labels (times in ``timezone``)."""
    for term, label in labels.items():
        if term not in ("reporting", "reason"):
            label.set_text(now_text(totals, term))
    why, when = silence(totals, timezone)
    labels["reason"].set_content(_reason_html(why, when))
    labels["reason"].set_visibility(bool(why))
    sites = "site" if totals.sites == 1 else "sites"
    labels["reporting"].set_text(
        f"{totals.reporting:,} of {totals.sites:,} {sites} reporting · "
        f"refreshed every {NOW_REFRESH_S:.0f} s"
    )
