"""The dashboard's global time range, as Grafana's picker: the last 24 hours (the default),
today, yesterday, the last 7 days, this week, this month or custom days, in the local time of
the site shown, remembered per user across pages (NiceGUI's user storage: a display
preference, like dark mode).

``period_of`` is pure (tested by hand); ``range_picker`` draws the control and calls back with
the new choice; pages read ``chosen()`` when they draw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nicegui import app as gui
from nicegui import ui

from gridpilot.web.numbers import local_datetime

CHOICES = (
    "Last 24 hours",
    "Today",
    "Yesterday",
    "Last 7 days",
    "This week",
    "This month",
    "Custom",
)
DEFAULT = "Last 24 hours"
#: The longest custom range [days] (the balance's hourly intervals stay quick to draw).
MAX_CUSTOM_DAYS = 92
KEY = "time_range"


@dataclass(frozen=True)
class Choice:
    """What the user picked: a named range, or custom local days ``first``..``last``."""

    name: str = DEFAULT
    first: date | None = None
    last: date | None = None


@dataclass(frozen=True)
class Period:
    """``[start_ms, end_ms)`` of a choice in a zone and its text (``Today, 2026-12-04 00:00 CET
    - 14:05 CET``, with an en dash)."""

    start_ms: int
    end_ms: int
    text: str

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / 3_600_000


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), zone).timestamp() * 1000)


def period_of(choice: Choice, timezone: str, at_ms: int) -> Period:
    """The period of ``choice`` in ``timezone`` as of ``at_ms``: the last 24 hours up to
    ``at_ms``, or days from local midnight to local midnight (23 or 25 h at DST changes; the
    last 7 days are seven local days, today's included); a range still running ends at
    ``at_ms``; weeks start on Monday."""
    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(at_ms / 1000, zone).date()
    name = choice.name if choice.name in CHOICES else DEFAULT
    if name == "Last 24 hours":
        start = at_ms - 24 * 3_600_000
        return Period(start, at_ms, f"{name}, {_span_text(start, at_ms, timezone)}")
    if name == "Last 7 days":  # seven local days, today's included
        first, after = today - timedelta(days=6), today + timedelta(days=1)
    elif name == "Yesterday":
        first, after = today - timedelta(days=1), today
    elif name == "This week":
        first, after = today - timedelta(days=today.weekday()), today + timedelta(days=1)
    elif name == "This month":
        first, after = today.replace(day=1), today + timedelta(days=1)
    elif name == "Custom" and choice.first and choice.last:
        first = min(choice.first, choice.last, today)
        last = min(max(choice.first, choice.last), first + timedelta(days=MAX_CUSTOM_DAYS - 1))
        after = last + timedelta(days=1)
    else:
        name, first, after = "Today", today, today + timedelta(days=1)
    start, end = _midnight(first, zone), min(_midnight(after, zone), at_ms)
    end = max(end, start + 60_000)  # never empty (a day's first minute)
    return Period(start, end, f"{name}, {_span_text(start, end, timezone)}")


def _span_text(start_ms: int, end_ms: int, timezone: str) -> str:
    """``2026-12-04 00:00 CET - 14:05 CET`` with an en dash (the end's date only when it
    differs)."""
    first, last = local_datetime(start_ms, timezone), local_datetime(end_ms, timezone)
    if first[:10] == last[:10]:
        last = last[11:]
    return f"{first} \u2013 {last}"


def chosen() -> Choice:
    """The user's choice (``DEFAULT`` until they pick another)."""
    stored = gui.storage.user.get(KEY) or {}
    try:
        first = date.fromisoformat(stored["first"]) if stored.get("first") else None
        last = date.fromisoformat(stored["last"]) if stored.get("last") else None
    except (TypeError, ValueError):
        first = last = None
    return Choice(str(stored.get("name", DEFAULT)), first, last)


def _store(choice: Choice) -> None:
    gui.storage.user[KEY] = {
        "name": choice.name,
        "first": choice.first.isoformat() if choice.first else None,
        "last": choice.last.isoformat() if choice.last else None,
    }


def range_picker(
    on_change: Callable[[], Awaitable[None] | None], shown: Choice | None = None
) -> None:
    """The picker (showing ``shown``, by default the stored choice): a select of the named
    ranges; ``Custom`` opens two date fields. Each change is stored for the user, then
    ``on_change`` redraws the page's figures (or reloads the page)."""
    start = shown or chosen()
    with ui.row().classes("items-end gap-2").props("data-testid=time-range"):
        select = ui.select(list(CHOICES), value=start.name, label="Time range").classes("w-40")
        select.props("dense options-dense data-testid=time-range-select")
        days = ui.row().classes("items-end gap-2")
        with days:
            first = ui.input("From", value=start.first.isoformat() if start.first else "")
            first.props("dense type=date data-testid=time-range-from").classes("w-36")
            last = ui.input("To", value=start.last.isoformat() if start.last else "")
            last.props("dense type=date data-testid=time-range-to").classes("w-36")
        days.set_visibility(start.name == "Custom")

    async def changed() -> None:
        days.set_visibility(select.value == "Custom")
        try:
            a = date.fromisoformat(first.value) if first.value else None
            b = date.fromisoformat(last.value) if last.value else None
        except ValueError:
            return
        if select.value == "Custom" and (a is None or b is None):
            return  # wait for both days
        _store(Choice(str(select.value), a, b))
        done = on_change()
        if done is not None:
            await done

    select.on_value_change(changed)
    first.on_value_change(changed)
    last.on_value_change(changed)
