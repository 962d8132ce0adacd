"""What the settings pages share: run a service action as the API would, show a refusal beside
its field (never a traceback), and ask before deleting.

An action runs in one transaction after the user's rights are read again (a page opened before
its user was demoted or logged out acts no more); the service checks scope and permission
itself, exactly as for the API, so a button a viewer never sees is refused anyway.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from nicegui import ui
from nicegui.elements.mixins.validation_element import ValidationElement
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import GridpilotError
from gridpilot.web.context import current
from gridpilot.web.dashboard_auth import principal as session_principal

T = TypeVar("T")


def _reason(message: str) -> str:
    """pydantic's ``Value error, unknown ...`` without its prefix."""
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def problems(error: Exception) -> list[tuple[str, str]]:
    """``(field, reason)`` of each thing wrong with the input (field ``""``: the whole form).

    pydantic errors name their field by location; a ``GridpilotError`` whose ``details`` list
    ``{"field", "reason"}`` (rule params) names them so; any other error is one form message.
    """
    if isinstance(error, ValidationError):
        return [
            (".".join(str(p) for p in e["loc"] if not isinstance(p, int)), _reason(e["msg"]))
            for e in error.errors()
        ]
    details = getattr(error, "details", None)
    if isinstance(details, list) and details and all(isinstance(d, dict) for d in details):
        found = [(str(d.get("field", "")), str(d.get("reason", ""))) for d in details]
        return [("", str(error)), *found]
    return [("", str(error))]


def short_label(label: str) -> str:
    """A field's label as a refusal names it: without its trailing hint in parentheses
    (``Window starts (HH:MM, site time)``: ``Window starts``)."""
    return re.sub(r"\s*\([^()]*\)$", "", label).strip() or label


def labelled(text: str, labels: Mapping[str, str]) -> str:
    """``text`` with each field name in it written as its label (``soc_min_pct must not exceed
    soc_max_pct``: ``Lowest state of charge allowed [%] must not exceed highest ...``); only
    names of the ``snake_case`` kind are replaced (a plain word like ``name`` is English)."""
    names = sorted((n for n in labels if "_" in n), key=len, reverse=True)
    if not names:
        return text

    def label(match: re.Match[str]) -> str:
        said = short_label(labels[match.group(0)])
        lower = match.start() > 0 and len(said) > 1 and said[1].islower()
        return said[0].lower() + said[1:] if lower else said

    return re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")\b", label, text)


def field_labels(fields: Mapping[str, ValidationElement]) -> dict[str, str]:
    """Each field's label as the form shows it (fields without one left out)."""
    found = {name: element.props.get("label") for name, element in fields.items()}
    return {name: str(text) for name, text in found.items() if text}


class Form:
    """Input elements by field name and a line for problems that belong to no field."""

    def __init__(self, fields: Mapping[str, ValidationElement], mark: str = "form") -> None:
        self.fields = dict(fields)
        self.message = ui.label().classes("text-negative text-body2")
        self.message.props(f"data-testid={mark}-error")
        self.message.set_visibility(False)

    def clear(self) -> None:
        for element in self.fields.values():
            element.error = None
        self.message.set_text("")
        self.message.set_visibility(False)

    def show(self, error: Exception) -> None:
        """Each reason beside its field (``params.threshold`` beside ``threshold`` or
        ``params``), the rest in the form's line; field names written as their labels."""
        self.clear()
        rest: list[str] = []
        for field, reason in problems(error):
            element = self._element(field)
            if element is None:
                rest.append(f"{field}: {reason}" if field else reason)
            else:
                self.beside(element, reason)
        self.rest(rest)

    def say(self, text: str) -> str:
        """``text`` with the form's field names written as their labels."""
        return labelled(text, field_labels(self.fields))

    def beside(self, element: ValidationElement, reason: str) -> None:
        """Add ``reason`` to the error shown under ``element``."""
        said = self.say(reason)
        element.error = f"{element.error}; {said}" if element.error else said

    def rest(self, reasons: list[str]) -> None:
        """The reasons that belong to no field, in the form's line (hidden when none)."""
        if reasons:
            self.message.set_text("; ".join(dict.fromkeys(self.say(r) for r in reasons)))
            self.message.set_visibility(True)

    def _element(self, field: str) -> ValidationElement | None:
        parts = field.split(".")
        for size in range(len(parts), 0, -1):
            for name in (".".join(parts[:size]), parts[size - 1]):
                if name in self.fields:
                    return self.fields[name]
        return None


async def fresh_rights(need: Permission) -> Principal | None:
    """The user's principal read again; None (and a message) when it may not ``need`` now."""
    fresh = await session_principal()
    if fresh is None:
        ui.notify("Your session has ended: sign in again.", type="negative")
        ui.navigate.to("/login")
        return None
    if not fresh.has(need):
        ui.notify("You may not change this.", type="negative")
        return None
    return fresh


async def act(
    action: Callable[[AsyncSession, Principal], Awaitable[T]],
    *,
    need: Permission,
    form: Form | None = None,
    done: str | None = None,
) -> T | None:
    """Run ``action(session, principal)`` in one transaction with fresh rights.

    On a refusal the reasons go beside the form's fields (or into a notification without a
    form) and the answer is None; on success ``done`` is notified and the action's result is
    returned (committed).
    """
    user = await fresh_rights(need)
    if user is None:
        return None
    if form is not None:
        form.clear()
    try:
        async with current().session() as session:
            result = await action(session, user)
    except (GridpilotError, ValidationError) as error:
        if form is not None:
            form.show(error)
        else:
            reasons = "; ".join(f"{f}: {r}" if f else r for f, r in problems(error))
            ui.notify(reasons, type="negative", multi_line=True)
        return None
    if done:
        ui.notify(done, type="positive")
    return result


def dialog_card(width_rem: int = 36) -> tuple[ui.dialog, ui.card]:
    """A dialog on the page itself (it outlives a refreshed list it was opened from) with a card
    as wide as ``width_rem`` or the screen allows."""
    with ui.context.client.content:
        dialog = ui.dialog()
    with dialog:
        card = ui.card().style(f"width: min({width_rem}rem, 94vw); max-width: 94vw")
    return dialog, card


def confirm(title: str, text: str, action: Callable[[], Awaitable[Any]], verb: str) -> None:
    """A dialog naming what goes with the deletion; ``action`` runs on the red button."""
    dialog, card = dialog_card(32)
    with card:
        ui.label(title).classes("text-h6")
        ui.label(text).classes("text-body2").props("data-testid=confirm-text")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat data-testid=confirm-cancel")

            async def go() -> None:
                dialog.close()
                await action()

            ui.button(verb, on_click=go).props("color=negative unelevated data-testid=confirm-yes")
    dialog.open()


def blank(value: Any) -> Any:
    """None for an empty input (the API's ``null``)."""
    return None if value in ("", None) else value


def section(title: str, hint: str = "") -> None:
    """A heading of a settings page."""
    ui.label(title).classes("text-subtitle1 text-weight-medium q-mt-sm")
    if hint:
        ui.label(hint).classes("text-caption text-grey-7")
