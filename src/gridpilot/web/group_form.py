"""The groups page's form for a new device group (``web/pages/groups.py``,
docs/fleet-operations.md): a name, a description and its members, either devices picked by
name (a static group) or a filter (a dynamic group: kinds, sites, models, manufacturers, tags,
firmware versions), saved through ``groups.service.create_group`` as
``POST /api/v1/groups``. A refusal is said in words beside its field (a name taken, a filter
with no criterion), never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets import service as assets
from gridpilot.assets.catalogue import ASSET_KINDS
from gridpilot.assets.models import Asset, Site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.groups import service as groups
from gridpilot.groups.events import publish_group_changed
from gridpilot.groups.schemas import GroupCreate
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act

#: The members' two ways, as the form says them.
WAYS = {"static": "Pick devices", "dynamic": "By a filter"}
#: Filter criteria: (field, label); the values offered come from the assets the user sees.
CRITERIA = (
    ("kinds", "Kinds"),
    ("site_ids", "Sites"),
    ("models", "Models"),
    ("manufacturers", "Manufacturers"),
    ("tags", "Tags"),
    ("firmware_versions", "Firmware versions"),
)


@dataclass(frozen=True)
class Offer:
    """What the pickers offer: each asset by name and site, each criterion's known values."""

    assets: dict[int, str]
    values: dict[str, dict[Any, str]]


def kind_label(kind: str) -> str:
    """``solar_pv`` -> ``Solar pv``: an asset kind as people read it."""
    return kind.replace("_", " ").capitalize()


def _known(found: list[Asset], read: Callable[[Asset], Any]) -> dict[str, str]:
    values: set[str] = set()
    for asset in found:
        value = read(asset)
        values.update(v for v in (value if isinstance(value, list) else [value]) if v)
    return {v: v for v in sorted(values, key=str.casefold)}


def offer(sites: list[Site], found: list[Asset]) -> Offer:
    """The pickers' options for the user's ``sites`` and ``found`` assets."""
    names = {s.id: s.name for s in sites}
    attrs = [(a, a.attributes or {}) for a in found]
    tags = {t for _, at in attrs if isinstance(at.get("tags"), list) for t in at["tags"]}
    versions = {str(at["firmware_version"]) for _, at in attrs if at.get("firmware_version")}
    return Offer(
        assets={a.id: f"{a.name} ({names.get(a.site_id, a.site_id)})" for a in found},
        values={
            "kinds": {k: kind_label(k) for k in sorted(ASSET_KINDS)},
            "site_ids": dict(sorted(names.items(), key=lambda kv: kv[1].casefold())),
            "models": _known(found, lambda a: a.model),
            "manufacturers": _known(found, lambda a: a.manufacturer),
            "tags": {t: t for t in sorted(t for t in tags if isinstance(t, str))},
            "firmware_versions": {v: v for v in sorted(versions)},
        },
    )


async def load_offer(user: Principal) -> Offer:
    async with current().session() as session:
        sites = await assets.list_sites(session=session, principal=user, limit=10_000)
        found = await assets.list_assets(session=session, principal=user, limit=10_000)
    return offer(list(sites), list(found))


def _picker(options: dict[Any, str], label: str, mark: str, free: bool = False) -> ui.select:
    """A multiple select with chips and a search; ``free``: values may be typed too."""
    element = ui.select(options, label=label, multiple=True, value=[], with_input=True)
    element.classes("w-full").props(f"use-chips data-testid=group-{mark}")
    if free:
        element.props('new-value-mode="add-unique"')
    return element


def group_form(offered: Offer, saved: Callable[[str], Awaitable[None]]) -> None:
    """The form in a card; ``saved(name)`` after a group is created."""
    with ui.card().classes("w-full").props("data-testid=group-form"):
        ui.label("New device group").classes("text-subtitle1")
        name = ui.input("Name").classes("w-full").props("data-testid=group-name")
        about = ui.input("Description (optional)").classes("w-full")
        about.props("data-testid=group-description")
        way = ui.toggle(WAYS, value="static").props("no-caps data-testid=group-way")
        members = _picker(offered.assets, "Devices", "members")
        members.bind_visibility_from(way, "value", value="static")
        criteria = ui.column().classes("w-full gap-1")
        criteria.bind_visibility_from(way, "value", value="dynamic")
        with criteria:
            ui.label(
                "A device is a member while it meets every criterion given (any of the "
                "values of each); at least one criterion."
            ).classes("text-caption text-grey-7")
            pickers = {
                key: _picker(offered.values[key], label, key.replace("_", "-"),
                             free=key not in ("kinds", "site_ids"))
                for key, label in CRITERIA
            }  # fmt: skip
        form = Form({"name": name, "description": about, "asset_ids": members,
                     **pickers, "filter": pickers["kinds"]}, "group")  # fmt: skip

        async def create() -> None:
            body: dict[str, Any] = {
                "name": (name.value or "").strip(),
                "description": (about.value or "").strip() or None,
                "kind": way.value,
            }
            if way.value == "static":
                body["asset_ids"] = list(members.value or [])
            else:
                body["filter"] = {k: list(p.value) for k, p in pickers.items() if p.value}

            async def action(session: AsyncSession, user: Principal) -> int:
                data = GroupCreate.model_validate(body)
                made = await groups.create_group(session=session, principal=user, data=data)
                return made.id

            made = await act(action, need=Permission.CONFIGURE, form=form)
            if made is not None:
                await publish_group_changed(current().app, made, "created")
                name.set_value("")
                about.set_value("")
                for picker in (members, *pickers.values()):
                    picker.set_value([])
                await saved(body["name"])

        ui.button("Create group", icon="add", on_click=create).props(
            "unelevated data-testid=group-create"
        )
