"""``/settings/flex?site={id}``: a site's flexible resources (as
``/api/v1/sites/{id}/flex-resources``): list with kind, linked asset, key figures and
auto-dispatch; add (a kind chooser; the parameters drawn from the kind's params model), edit,
delete (asks first); an EV charger's charging sessions added, edited and deleted in the same
form, their times in the site's zone. Any role reads; configure edits.

The form builds the API's own bodies (``ResourceCreate``/``ResourceUpdate``) and calls the
services the routes call with the logged-in principal, so a figure the API refuses is refused
here with the same reason, shown beside its field.
"""

from __future__ import annotations

import re
from typing import Any

from nicegui import ui
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets import service as assets
from gridpilot.assets.models import Asset, Site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.flex import service as flex
from gridpilot.flex.resources import ASSET_KINDS
from gridpilot.flex.schemas import ResourceCreate, ResourceOut, ResourceUpdate
from gridpilot.web.context import current
from gridpilot.web.ev_sessions_form import SessionsEditor
from gridpilot.web.flex_settings_view import KIND_ICONS, KIND_NAMES, caption, param_specs
from gridpilot.web.forms import Form, act, blank, confirm, dialog_card, problems, section
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.settings_view import back_link, empty_note, item_row, read_only_note

CREATE = TypeAdapter(ResourceCreate)
PATH = "/settings/flex"


class FlexForm(Form):
    """A reason beside the field it names: by its location, else by a parameter's name in
    the service's message (``battery params: soc_min_pct must not exceed soc_max_pct``)."""

    def show(self, error: Exception) -> None:
        self.clear()
        rest: list[str] = []
        for field, reason in problems(error):
            element = self._element(field) if field else None
            if element is None:
                text = f"{field}: {reason}" if field else reason
                name = self._named(text)
                if name is None:
                    rest.append(text)
                    continue
                element, reason = self.fields[name], re.sub(r"^\w+ params: ", "", reason)
            self.beside(element, reason)
        self.rest(rest)

    def _named(self, text: str) -> str | None:
        if " named " in text:
            return "name"
        if "asset" in text:
            return "asset_id"
        return next((n for n in self.fields if re.search(rf"\b{n}\b", text)), None)


def _asset_options(kind: str, site_assets: list[Asset]) -> dict[int, str]:
    allowed = ASSET_KINDS.get(kind)
    return {
        a.id: f"{a.name} ({a.kind.replace('_', ' ')})"
        for a in site_assets
        if allowed is None or a.kind in allowed
    }


def _param_value(kind_of: str, value: Any) -> Any:
    """An input's value as the API's JSON has it (a whole number for an integer field)."""
    value = blank(value)
    if isinstance(value, str):
        return value.strip()
    if kind_of == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ResourceForm:
    """The resource's inputs in a dialog; the parameters re-drawn when the kind changes; an EV
    charger's sessions in their own editor (``web.ev_sessions_form``)."""

    def __init__(
        self, resource: ResourceOut | None, site_assets: list[Asset], timezone: str
    ) -> None:
        self.resource, self.site_assets, self.timezone = resource, site_assets, timezone
        self.sessions: SessionsEditor | None = None
        kind = resource.kind if resource else "battery"
        self.fields: dict[str, Any] = {
            "kind": ui.select(KIND_NAMES, value=kind, label="Kind"),
            "name": ui.input("Name (unique on the site)", value=resource.name if resource else ""),
            "asset_id": ui.select(
                _asset_options(kind, site_assets),
                value=resource.asset_id if resource else None,
                label="Linked asset (empty: none)",
                clearable=True,
            ),
        }
        for name, element in self.fields.items():
            element.classes("w-full").props(f"data-testid=flex-{name}")
        if resource is not None:
            self.fields["kind"].disable()
        with ui.row().classes("w-full gap-4"):
            self.enabled = ui.switch("Enabled", value=resource.enabled if resource else True)
            self.auto = ui.switch(
                "Auto-dispatch (re-plan every 15 min, send commands)",
                value=resource.auto_dispatch if resource else False,
            )
        self.enabled.props("data-testid=flex-enabled")
        self.auto.props("data-testid=flex-auto_dispatch")
        section("Parameters", "Powers at the site's connection point; times in the site's zone.")
        self.params_box = ui.column().classes("w-full gap-1")
        self.params: dict[str, tuple[str, Any]] = {}
        self.form = FlexForm(self.fields, "flex")
        self._draw(resource.params.model_dump() if resource else {})
        self.fields["kind"].on_value_change(self._kind_changed)

    def _kind_changed(self) -> None:
        kind = self.fields["kind"].value
        self.fields["asset_id"].set_options(_asset_options(kind, self.site_assets), value=None)
        self._draw({})

    def _draw(self, values: dict[str, Any]) -> None:
        self.params_box.clear()
        self.params = {}
        kind = self.fields["kind"].value
        with self.params_box:
            for name, label, kind_of, default in param_specs(kind):
                value = values.get(name, default)
                if kind_of == "boolean":
                    element: Any = ui.select({True: "yes", False: "no"}, value=value, label=label)
                elif kind_of == "string":
                    element = ui.input(label, value=value or "")
                else:
                    element = ui.number(label, value=value)
                element.classes("w-full").props(f"data-testid=param-{name}")
                self.params[name] = (kind_of, element)
            self.sessions = None
            if kind == "ev_charger":
                self.sessions = SessionsEditor(list(values.get("sessions") or []), self.timezone)
        self.form.fields = {**self.fields, **{n: e for n, (_k, e) in self.params.items()}}

    def params_body(self, keep_empty: bool) -> dict[str, Any]:
        values = {n: _param_value(k, e.value) for n, (k, e) in self.params.items()}
        return values if keep_empty else {n: v for n, v in values.items() if v is not None}

    def body(self) -> dict[str, Any] | None:
        """The API's body: ``ResourceCreate`` for a new resource, else ``ResourceUpdate``;
        None when a charging session was refused (its reasons are shown beside it)."""
        params = self.params_body(keep_empty=self.resource is not None)
        if self.sessions is not None:
            sessions = self.sessions.body()
            if sessions is None:
                return None
            params["sessions"] = sessions
        values = {
            "name": (self.fields["name"].value or "").strip(),
            "asset_id": blank(self.fields["asset_id"].value),
            "enabled": bool(self.enabled.value),
            "auto_dispatch": bool(self.auto.value),
            "params": params,
        }
        return values if self.resource else {"kind": self.fields["kind"].value, **values}


def resource_dialog(
    site: Site, resource: ResourceOut | None, site_assets: list[Asset], done: Any
) -> None:
    dialog, card = dialog_card(40)
    with card:
        title = (
            f"New flexible resource of {site.name}" if resource is None else f"Edit {resource.name}"
        )
        ui.label(title).classes("text-h6")
        form = ResourceForm(resource, site_assets, site.timezone)

        async def save() -> None:
            form.form.clear()
            body = form.body()
            if body is None:
                return

            async def action(session: AsyncSession, user: Principal) -> ResourceOut:
                if resource is None:
                    data = CREATE.validate_python(body)
                    return await flex.create_resource(
                        session=session, site_id=site.id, data=data, principal=user
                    )
                changes = ResourceUpdate.model_validate(body)
                return await flex.update_resource(
                    session=session, site_id=site.id, resource_id=resource.id, data=changes,
                    principal=user,
                )  # fmt: skip

            saved = await act(action, need=Permission.CONFIGURE, form=form.form)
            if saved is not None:
                dialog.close()
                ui.notify(f"{saved.name} saved", type="positive")
                await done()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", on_click=save).props("unelevated data-testid=flex-save")
    dialog.open()


def _ask_delete(site: Site, resource: ResourceOut, done: Any) -> None:
    async def go() -> None:
        async def action(session: AsyncSession, user: Principal) -> bool:
            await flex.delete_resource(
                session=session, site_id=site.id, resource_id=resource.id, principal=user
            )
            return True

        if await act(action, need=Permission.CONFIGURE, done=f"{resource.name} deleted"):
            await done()

    shaving = (
        " Its peak-shaving settings are deleted with it." if resource.kind == "battery" else ""
    )
    confirm(
        f"Delete {resource.name}?",
        f"The next schedules of {site.name} leave it out; schedules already stored keep it."
        f"{shaving} This cannot be undone (disabling keeps it).",
        go,
        "Delete resource",
    )


async def _resources(user: Principal, site: Site, holder: ui.column) -> None:
    async with current().session() as session:
        found = await flex.list_resources(session=session, site_id=site.id, principal=user)
        site_assets = await assets.list_assets(session=session, principal=user, site_id=site.id)
    names = {a.id: a.name for a in site_assets}
    can_edit = user.has(Permission.CONFIGURE)

    async def refresh() -> None:
        holder.clear()
        with holder:
            await _resources(user, site, holder)

    if can_edit:
        ui.button(
            "Add resource",
            icon="add",
            on_click=lambda: resource_dialog(site, None, site_assets, refresh),
        ).props("unelevated data-testid=add-flex")
    if not found:
        empty_note(f"{site.name} has no flexible resources yet.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for r in found:
            actions = []
            if can_edit:
                actions = [
                    ("edit", "Edit", lambda r=r: resource_dialog(site, r, site_assets, refresh)),
                    ("delete", "Delete", lambda r=r: _ask_delete(site, r, refresh)),
                ]
            item_row(
                r.name,
                caption(r, names, site.timezone),
                None,
                f"flex-{r.id}",
                actions,
                icon=KIND_ICONS.get(r.kind, "tune"),
                badge=("enabled", "positive") if r.enabled else ("disabled", "grey"),
            )


def register() -> None:
    @ui.page(PATH)
    async def flex_settings(site: int | None = None) -> None:
        user = await require_login(PATH if site is None else f"{PATH}?site={site}")
        if user is None:
            return
        with frame(user, "Flexible resources"):
            await painted()  # the frame answers at once; the resources follow
            async with current().session() as session:
                sites = await assets.list_sites(session=session, principal=user)
            back_link("/settings", "Settings")
            if not user.has(Permission.CONFIGURE):
                read_only_note("flexible resources")
            if not sites:
                empty_note("No sites yet: add one under Sites and assets.")
                return
            chosen = next((s for s in sites if s.id == site), sites[0])
            ui.select(
                {s.id: s.name for s in sites},
                value=chosen.id,
                label="Site",
                on_change=lambda e: ui.navigate.to(f"{PATH}?site={e.value}"),
            ).classes("w-full max-w-sm").props("data-testid=flex-site")
            ui.label(f"Times in {chosen.timezone}").classes("text-caption text-grey-7")
            holder = ui.column().classes("w-full gap-3").props("data-testid=flex-settings")
            with holder:
                await _resources(user, chosen, holder)
