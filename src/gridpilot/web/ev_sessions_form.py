"""The charging sessions of an EV charger in the flexible-resources form (``/settings/flex``):
add, edit and delete sessions: a label, when the car arrives and leaves (the site's local
wall-clock time, as a ``datetime-local`` input holds it) and the energy it needs by then.

Each session is checked as the API checks it (``flex.schemas.EVSessionIn``: departure after
arrival, 0 < energy <= 1000 kWh) before the resource is saved, and the refusal is written
beside the field it concerns, in words: a time that is not a date and time, a local time that
does not exist (the hour skipped when clocks go forward), a missing figure. A local time that
happens twice (the hour repeated when clocks go back) is its first occurrence. A session left
untouched keeps its stored instants to the second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from pydantic import ValidationError

from gridpilot.flex.schemas import EVSessionIn, overlapping_sessions
from gridpilot.web.forms import blank

#: What an ``<input type="datetime-local">`` holds (minutes; seconds only if typed).
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
QUARTER = timedelta(minutes=15)
#: A new session: from the next quarter hour, this long.
NEW_SESSION = timedelta(hours=8)


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as the site's wall clock in a ``datetime-local`` input."""
    local = moment.astimezone(zone)
    return local.strftime(LOCAL_FORMAT + (":%S" if local.second else ""))


def local_instant(text: str, zone: ZoneInfo) -> datetime:
    """The instant of the site's wall-clock ``text``; ``ValueError`` says why not one."""
    text = (text or "").strip()
    if not text:
        raise ValueError("needed: a date and time in the site's time")
    try:
        naive = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (e.g. 2026-12-05 18:00)") from None
    if naive.tzinfo is not None:
        raise ValueError("give the site's wall-clock time, without a UTC offset")
    moment = naive.replace(tzinfo=zone)
    back = moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(
            f"{naive:%H:%M} on {naive:%Y-%m-%d} does not exist in {zone.key} (the clocks go "
            "forward then)"
        )
    return moment


class SessionRow:
    """One session's inputs; ``key`` names its test ids (``session-<key>-departure``)."""

    def __init__(
        self, key: int, session: dict[str, Any] | None, zone: ZoneInfo, on_delete: Any
    ) -> None:
        self.key, self.zone = key, zone
        self.stored = session or {}
        quarter_s = QUARTER.total_seconds()
        next_quarter = -(-datetime.now(UTC).timestamp() // quarter_s) * quarter_s
        arrival = self.stored.get("arrival") or datetime.fromtimestamp(next_quarter, UTC)
        departure = self.stored.get("departure") or arrival + NEW_SESSION
        self.shown = {
            "arrival": local_text(arrival, zone),
            "departure": local_text(departure, zone),
        }
        mark = f"session-{key}"
        with ui.card().classes("w-full q-pa-sm").props(f"flat bordered data-testid={mark}") as card:
            self.card = card
            with ui.row().classes("w-full items-center no-wrap"):
                self.title = ui.label(f"Session {key + 1}").classes("text-weight-medium col")
                ui.button(icon="delete", on_click=lambda: on_delete(self)).props(
                    f"flat round dense data-testid={mark}-delete"
                ).tooltip("Delete this session (on Save)")
            with ui.grid().classes("w-full gap-x-3 gap-y-1 grid-cols-1 sm:grid-cols-2"):
                self.fields: dict[str, Any] = {
                    "label": ui.input("Label (car, driver)", value=self.stored.get("label", "")),
                    "energy_kwh": ui.number(
                        "Energy needed by departure [kWh]", value=self.stored.get("energy_kwh")
                    ),
                    "arrival": ui.input("Arrives (site time)", value=self.shown["arrival"]),
                    "departure": ui.input("Leaves (site time)", value=self.shown["departure"]),
                }
        for name, element in self.fields.items():
            element.classes("w-full").props(f"data-testid={mark}-{name}")
            if name in ("arrival", "departure"):
                element.props("type=datetime-local stack-label")

    def clear(self) -> None:
        for element in self.fields.values():
            element.error = None

    def _instant(self, name: str) -> datetime:
        text = str(self.fields[name].value or "")
        stored = self.stored.get(name)
        if stored is not None and text == self.shown[name]:
            return stored  # untouched: to the second, whatever the input shows
        return local_instant(text, self.zone)

    def body(self) -> dict[str, Any] | None:
        """The API's session (instants as ISO-8601 with offset), or None with each reason
        beside its field."""
        self.clear()
        values: dict[str, Any] = {"label": str(self.fields["label"].value or "").strip()}
        ok = True
        for name in ("arrival", "departure"):
            try:
                values[name] = self._instant(name).astimezone(UTC).isoformat()  # UTC inside
            except ValueError as exc:
                self.fields[name].error, ok = str(exc), False
        energy = blank(self.fields["energy_kwh"].value)
        if energy is None:
            self.fields["energy_kwh"].error, ok = "needed: the kWh the car must get", False
        values["energy_kwh"] = energy
        if "arrival" in values and "departure" in values:
            try:  # the API's own checks, an energy still missing stood in for
                EVSessionIn.model_validate({**values, "energy_kwh": energy or 1.0})
            except ValidationError as exc:
                ok = False
                for error in exc.errors():
                    where = next((str(p) for p in error["loc"] if str(p) in self.fields),
                                 "departure")  # fmt: skip
                    reason = str(error["msg"]).removeprefix("Value error, ")
                    element = self.fields[where]
                    element.error = f"{element.error}; {reason}" if element.error else reason
        return values if ok else None


class SessionsEditor:
    """The sessions of one EV charger: rows to edit, one to add, a delete on each."""

    def __init__(self, sessions: list[dict[str, Any]], timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.rows: list[SessionRow] = []
        self._next = 0
        with ui.row().classes("w-full items-center justify-between q-mt-sm"):
            ui.label(f"Charging sessions (times in {timezone})").classes("text-subtitle2")
            ui.button("Add session", icon="add", on_click=lambda: self.add(None)).props(
                "flat dense data-testid=session-add"
            )
        self.box = ui.column().classes("w-full gap-2").props("data-testid=sessions")
        self.error = ui.label().classes("text-negative text-body2")
        self.error.props("data-testid=sessions-error")
        self.error.set_visibility(False)
        for session in sessions:
            self.add(session)

    def add(self, session: dict[str, Any] | None) -> None:
        with self.box:
            self.rows.append(SessionRow(self._next, session, self.zone, self.delete))
        self._next += 1
        self._number()

    def delete(self, row: SessionRow) -> None:
        self.rows.remove(row)
        self.box.remove(row.card)
        self._number()

    def _number(self) -> None:
        """Titles by position, as refusals number the sessions (``sessions 1 and 2``)."""
        for i, row in enumerate(self.rows):
            row.title.set_text(f"Session {i + 1}")

    def body(self) -> list[dict[str, Any]] | None:
        """Every session as the API takes it, or None when one was refused (each reason shown
        beside its field; sessions that overlap named in the editor's line)."""
        self.error.set_visibility(False)
        found = [row.body() for row in self.rows]
        if any(f is None for f in found):
            return None
        sessions = [f for f in found if f is not None]
        clash = overlapping_sessions(
            [(datetime.fromisoformat(s["arrival"]), datetime.fromisoformat(s["departure"]))
             for s in sessions]
        )  # fmt: skip
        if clash:
            self.error.set_text(clash)
            self.error.set_visibility(True)
            return None
        return sessions
