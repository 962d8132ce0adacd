"""``/settings/tariffs``: each site's versioned tariff (as ``/api/v1/sites/{id}/tariffs``): what
applies now, its time-of-use bands, charges and export price, the versions before and after it,
and (configure) a new version from a local date.

The form builds the API's own body (``TariffCreate``) and calls ``create_tariff`` as the route
does: a start in the past (unless "Correct a closed period" is ticked, the API's ``backdate``) or
not after the newest version is refused by the service, and its reason is shown beside the field
it concerns in the form's words (no API field or value names).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.tariffs import DAY_NAMES, HOLIDAY
from gridpilot.assets import service as assets
from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.auth.service import subject_names
from gridpilot.core.timestamps import now_ms, to_ms
from gridpilot.insights.kpis import tariffs as tariff_service
from gridpilot.insights.kpis.models import TariffVersion
from gridpilot.insights.kpis.schemas import TariffCreate
from gridpilot.web import tariff_view as view
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act, blank, dialog_card, section
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.numbers import local_datetime
from gridpilot.web.settings_view import back_link, empty_note, read_only_note

DAY_CHOICES = {
    "weekday": "Mon-Fri",
    "weekend": "Sat-Sun",
    "all": "every day",
    **{d: d.capitalize() for d in DAY_NAMES},
    HOLIDAY: "holidays",
}
NUMBERS = (
    ("default_rate_per_kwh", "Any other time [{c}/kWh]"),
    ("demand_charge_per_kw_month", "Demand charge [{c}/kW per month]"),
    ("fixed_charge_per_month", "Fixed charge [{c} per month]"),
    ("fixed_charge_per_day", "Daily charge [{c} per day]"),
    ("export_rate_per_kwh", "Export earns [{c}/kWh] (empty: not agreed)"),
)
_PERIOD = re.compile(r"periods\[(\d+)\]\.(\w+)")
#: The checkbox that lets a version start in the past (the API's ``backdate``).
CORRECT_PAST = "Correct a closed period (changes costs already reported)"
#: The service's refusals in the form's words (no API field or value in them).
SAID = (
    (
        "lies in the past",
        f"This date lies in the past: saving it would change costs already reported. "
        f"To correct them on purpose, tick \u201c{CORRECT_PAST.split(' (')[0]}\u201d.",
    ),
    ("append-only", "A new version must start after the newest version of this site."),
)


class TariffForm(Form):
    """A service's reason beside the field it names (``periods[1].start``, ``valid_from``)."""

    def show(self, error: Exception) -> None:
        message = str(error)
        for known, said in SAID:
            if known in message:
                self.clear()
                self.beside(self.fields["valid_from"], said)
                return
        found = _PERIOD.search(message)
        names = [f"periods.{found.group(1)}.{found.group(2)}"] if found else []
        names += [n for n in self.fields if "." not in n and re.search(rf"\b{n}\b", message)]
        if "needs periods or a default" in message:
            names.append("default_rate_per_kwh")
        field = next((n for n in names if n in self.fields), None)
        if field is None:
            super().show(error)
            return
        self.clear()
        self.beside(self.fields[field], message.removeprefix("tariff "))


class PeriodRows:
    """The time-of-use bands: a wrapping row of inputs each, added and removed in place."""

    def __init__(self, periods: list[dict[str, Any]], currency: str, form: TariffForm) -> None:
        self.currency, self.form = currency, form
        self.rows: list[dict[str, Any]] = []
        self.box = ui.column().classes("w-full gap-1")
        for period in periods:
            self.add(period)

    def add(self, period: dict[str, Any] | None = None) -> None:
        p = period or {"name": f"F{len(self.rows) + 1}", "days": "all"}
        days = p.get("days", "all")
        with self.box, ui.row().classes("w-full items-start gap-x-2 gap-y-0 wrap") as line:
            i = len(self.rows)
            with ui.row().classes("items-start gap-2 no-wrap grow min-w-[14rem]"):
                inputs = {
                    "name": ui.input("Band", value=p.get("name", "")).classes("w-20"),
                    "days": ui.select(
                        DAY_CHOICES, value=[days] if isinstance(days, str) else list(days),
                        multiple=True, label="Days",
                    ).classes("grow").props("use-chips"),
                }  # fmt: skip
            with ui.row().classes("items-start gap-2 no-wrap"):
                inputs["start"] = ui.input("From", value=p.get("start", "00:00")).classes("w-16")
                inputs["end"] = ui.input("To", value=p.get("end", "24:00")).classes("w-16")
                inputs["rate_per_kwh"] = ui.number(
                    f"Price [{self.currency}/kWh]", value=p.get("rate_per_kwh"), format="%.4f"
                ).classes("w-32")
                ui.button(icon="delete", on_click=lambda: self.remove(line, inputs)).props(
                    f"flat round dense data-testid=period-{i}-remove"
                ).tooltip("Remove band")
            for key, element in inputs.items():
                element.props(f"data-testid=period-{i}-{key}")
        self.rows.append(inputs)
        self._index()

    def remove(self, line: ui.row, inputs: dict[str, Any]) -> None:
        self.rows.remove(inputs)
        line.delete()
        self._index()

    def _index(self) -> None:
        self.form.fields = {k: v for k, v in self.form.fields.items() if "." not in k}
        for i, inputs in enumerate(self.rows):
            self.form.fields.update({f"periods.{i}.{k}": e for k, e in inputs.items()})

    def body(self) -> list[dict[str, Any]]:
        periods = []
        for inputs in self.rows:
            days = inputs["days"].value or []
            period = {
                "name": (inputs["name"].value or "").strip(),
                "days": days if len(days) != 1 else days[0],
                "start": (inputs["start"].value or "").strip(),
                "end": (inputs["end"].value or "").strip(),
                "rate_per_kwh": inputs["rate_per_kwh"].value,
            }
            periods.append({k: v for k, v in period.items() if v not in ("", None, [])})
        return periods


def _local_start(value: str, timezone: str) -> int | None:
    """Epoch ms of local midnight on ``YYYY-MM-DD`` in the site's zone (None: not a date)."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return int(datetime.combine(day, time(0), ZoneInfo(timezone)).timestamp() * 1000)


def version_dialog(site: Site, base: dict[str, Any], done: Any) -> None:
    """A new version of ``site``'s tariff, prefilled with ``base`` (the newest one)."""
    currency = str(base.get("currency", "EUR")).upper()
    tomorrow = datetime.now(ZoneInfo(site.timezone)).date() + timedelta(days=1)
    dialog, card = dialog_card(48)
    with card:
        ui.label(f"New tariff version for {site.name}").classes("text-h6")
        fields: dict[str, Any] = {
            "valid_from": ui.input(
                f"Valid from (00:00 {site.timezone})", value=tomorrow.isoformat()
            ).props("type=date stack-label"),
            "name": ui.input("Name", value=base.get("name", "")),
            "currency": ui.input("Currency", value=currency),
        }
        past = ui.checkbox(CORRECT_PAST).props("dense data-testid=tariff-correct-past")
        form = TariffForm(fields, "tariff")
        section("Time-of-use bands", "The first band matching a local day and time sets the price.")
        periods = PeriodRows(list(base.get("periods") or []), currency, form)
        ui.button("Add band", icon="add", on_click=lambda: periods.add()).props(
            "flat dense data-testid=add-period"
        )
        section("Charges and export")
        for key, label in NUMBERS:
            fields[key] = ui.number(label.format(c=currency), value=base.get(key))
        for key, element in fields.items():
            element.classes("w-full").props(f"data-testid=tariff-{key}")
        form.fields.update(fields)

        def definition() -> dict[str, Any]:
            values = {k: blank(e.value) for k, e in fields.items() if k != "valid_from"}
            kept: dict[str, Any] = {k: base[k] for k in ("country", "subdivision") if k in base}
            if isinstance(values["currency"], str):
                values["currency"] = values["currency"].strip()
            if values.get("name"):
                values["name"] = values["name"].strip()
            return {**kept, **{k: v for k, v in values.items() if v is not None},
                    "periods": periods.body()}  # fmt: skip

        async def save() -> None:
            start = _local_start(fields["valid_from"].value or "", site.timezone)
            if start is None:
                form.clear()
                fields["valid_from"].error = "choose the local date the version starts on"
                return
            body = {"valid_from": start, "definition": definition(), "backdate": past.value}

            async def action(session: AsyncSession, user: Principal) -> TariffVersion:
                data = TariffCreate.model_validate(body)
                return await tariff_service.create_tariff(
                    session=session,
                    site_id=site.id,
                    principal=user,
                    valid_from_ms=to_ms(data.valid_from),
                    definition=data.definition,
                    backdate=data.backdate,
                )

            saved = await act(action, need=Permission.CONFIGURE, form=form)
            if saved is not None:
                dialog.close()
                when = local_datetime(saved.valid_from_ms, site.timezone)
                ui.notify(f"Tariff of {site.name} changes on {when}", type="positive")
                await done()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save version", on_click=save).props("unelevated data-testid=tariff-save")
    dialog.open()


def _details(shown: view.Shown, mark: str) -> None:
    """The bands, then the charges and export price of one version: a two-column grid (what,
    figure) that wraps within the screen."""
    bands = view.period_lines(shown.definition)
    lines = [(f"{name} · {when}", rate, "text-body2") for name, when, rate in bands]
    lines += [(what, text, "text-caption") for what, text in view.charge_lines(shown.definition)]
    with (
        ui.element("div")
        .classes("w-full max-w-2xl grid gap-x-3")
        .style("grid-template-columns: minmax(0, 1fr) minmax(0, max-content)")
        .props(f"data-testid={mark}")
    ):
        for what, figure, size in lines:
            ui.label(what).classes(f"{size} break-words")
            ui.label(figure).classes(f"{size} text-weight-medium text-right")


def _span(shown: view.Shown, timezone: str) -> str:
    since = "always" if shown.valid_from_ms == 0 else local_datetime(shown.valid_from_ms, timezone)
    until = (
        "" if shown.valid_to_ms is None else f" until {local_datetime(shown.valid_to_ms, timezone)}"
    )
    return f"from {since}{until}" if shown.valid_from_ms else f"since {since}{until}"


BADGES = {"applies now": "positive", "closed": "grey", "upcoming": "info"}


def _site_card(
    site: Site, rows: list[TariffVersion], names: dict[str, str], user: Principal, refresh: Any
) -> None:
    shown, now = view.history(site.tariff, rows), now_ms()
    today = view.current(shown, now)
    with ui.card().classes("w-full").props(f"flat bordered data-testid=tariff-site-{site.id}"):
        with ui.row().classes("w-full items-center justify-between gap-2 wrap"):
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(site.name).classes("text-subtitle1 text-weight-medium")
                ui.label(site.timezone).classes("text-caption text-grey-7")
            if user.has(Permission.CONFIGURE):
                base = dict(shown[-1].definition) if shown else {"currency": "EUR"}
                ui.button(
                    "New version", icon="add", on_click=lambda: version_dialog(site, base, refresh)
                ).props(f"outline dense data-testid=new-version-{site.id}")
        if today is None:
            empty_note("No tariff applies today: costs of this site show \u201cno tariff\u201d.")
        else:
            name = today.definition.get("name") or "Tariff"
            ui.label(f"Applies today: {name}, {_span(today, site.timezone)}").classes(
                "text-body2"
            ).props(f"data-testid=tariff-today-{site.id}")
            _details(today, f"tariff-details-{site.id}")
        if len(shown) > (1 if today else 0):
            history = (
                ui.expansion(f"All versions ({len(shown)})")
                .classes("w-full")
                .props(f"dense data-testid=tariff-history-{site.id}")
            )
            drawn: list[bool] = []

            def draw() -> None:  # on first opening: a page of many sites stays quick to build
                if drawn or not history.value:
                    return
                drawn.append(True)
                with history:
                    _versions(site, shown, names, now)

            history.on_value_change(draw)


def _versions(site: Site, shown: list[view.Shown], names: dict[str, str], now: int) -> None:
    """Every version, newest first, with its state, span, author and figures."""
    for i, version in enumerate(reversed(shown)):
        state = version.state(now)
        who = (
            "site tariff"
            if version.created_by is None
            else f"by {names.get(version.created_by, version.created_by)}"
        )
        with ui.column().classes("w-full gap-1 q-py-xs"):
            with ui.row().classes("items-center gap-2 wrap"):
                ui.badge(state, color=BADGES[state])
                ui.label(
                    f"{version.definition.get('name') or 'Tariff'} · "
                    f"{_span(version, site.timezone)} · {who}"
                ).classes("text-body2 break-words")
            _details(version, f"tariff-version-{site.id}-{len(shown) - 1 - i}")


def register() -> None:
    @ui.page("/settings/tariffs")
    async def tariffs_page() -> None:
        user = await require_login("/settings/tariffs")
        if user is None:
            return
        with frame(user, "Tariffs"):
            back_link("/settings", "Settings")
            if not user.has(Permission.CONFIGURE):
                read_only_note("tariffs")
            holder = ui.column().classes("w-full gap-3").props("data-testid=tariffs-settings")

            async def refresh() -> None:
                holder.clear()
                with holder:
                    await _sites(user, refresh)

            await painted()  # the frame answers at once; the sites' tariffs follow
            with holder:
                await _sites(user, refresh)


async def _sites(user: Principal, refresh: Any) -> None:
    """Every site's card, read in one transaction (a query for the sites, one for all their
    versions, one for their authors' names)."""
    async with current().session() as session:
        sites = await assets.list_sites(session=session, principal=user)
        versions = await tariff_service.tariffs_by_site(
            session=session, principal=user, site_ids=[s.id for s in sites]
        )
        authors = {v.created_by for rows in versions.values() for v in rows}
        names = await subject_names(session=session, subjects=authors)
    if not sites:
        empty_note("No sites yet: add one under Sites and assets.")
    for site in sites:
        _site_card(site, versions.get(site.id, []), names, user, refresh)
