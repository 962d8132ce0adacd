"""The look the settings pages share: list rows with a title, a caption and action buttons (as
Home Assistant's settings lists), a link back, a note for an empty list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nicegui import ui

#: (icon, tooltip, handler) of a row's button; the button's test id is ``<mark>-<icon>``.
Action = tuple[str, str, Callable[[], Any]]


def item_row(
    title: str,
    caption: str,
    href: str | None,
    mark: str,
    actions: Sequence[Action] = (),
    icon: str = "",
    badge: tuple[str, str] | None = None,
) -> ui.item:
    """One row of a settings list: wraps its text on a phone (never scrolls sideways)."""
    with ui.item().props(f"data-testid={mark}") as row:
        if icon:
            with ui.item_section().props("avatar"):
                ui.icon(icon, color="primary")
        with ui.item_section().classes("min-w-0"):
            with ui.item_label().classes("text-weight-medium ellipsis-2-lines"):
                if href:
                    ui.link(title, href).classes("text-primary no-underline")
                else:
                    ui.label(title)
            ui.item_label(caption).props("caption").classes("break-words")
        if badge or actions:
            with ui.item_section().props("side"), ui.row().classes("items-center gap-0 no-wrap"):
                if badge:
                    ui.badge(badge[0], color=badge[1]).props(f"data-testid={mark}-badge")
                for name, tip, handler in actions:
                    ui.button(icon=name, on_click=handler).props(
                        f"flat round dense data-testid={mark}-{name}"
                    ).tooltip(tip)
    return row


def back_link(href: str, label: str) -> None:
    with ui.link(target=href).classes("text-primary no-underline row items-center gap-1"):
        ui.icon("arrow_back")
        ui.label(label)


def empty_note(text: str) -> None:
    ui.label(text).classes("text-body2 text-grey-7").props("data-testid=empty-note")


def read_only_note(what: str) -> None:
    """Why a viewer sees no buttons."""
    ui.label(f"You may read {what}; changing it needs an operator or administrator.").classes(
        "text-caption text-grey-7"
    ).props("data-testid=read-only")
