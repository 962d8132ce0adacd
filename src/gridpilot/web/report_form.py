"""The reports page's form for a new report (``web/pages/reports.py``, docs/reports.md).

Everything is picked by name, never typed as an id: the site, the device group, the community,
the baseline, the DR event (each of the chosen site's events by its window in the site's time
and its status, or every event of the period) and the community member (by name and POD, or
every member). The service checks what is saved exactly as ``POST /api/v1/reports`` does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui
from pydantic import ValidationError

from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Principal
from gridpilot.community import plants
from gridpilot.community import service as communities
from gridpilot.core.errors import GridpilotError
from gridpilot.dr import service as dr
from gridpilot.groups import service as groups
from gridpilot.insights.baselines import service as baselines
from gridpilot.reports import service
from gridpilot.reports.kinds import load
from gridpilot.reports.schemas import DefinitionCreate
from gridpilot.web.context import current
from gridpilot.web.dr_view import window

SCHEDULES = {"none": "On demand", "daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
#: Kinds of a community's statements (a member may be named); the yearly one is on demand only.
COMMUNITY_KINDS = ("community_statement", "community_year")
TARGETS = {"site": "Site", "group": "Device group", "community": "Community"}
#: The choice that names no member or event (the report covers every one).
EVERY = 0
#: A site's newest DR events offered [count].
EVENTS_PER_SITE = 50


@dataclass
class Choices:
    """What the form offers the user, by id: names as the user reads them."""

    groups: dict[int, str] = field(default_factory=dict)
    communities: dict[int, str] = field(default_factory=dict)
    baselines: dict[int, str] = field(default_factory=dict)
    #: Per community: every member, then each member as ``Carl · POD IT001E00000003``.
    members: dict[int, dict[int, str]] = field(default_factory=dict)
    #: Per site: every event of the period, then its events, newest first.
    events: dict[int, dict[int, str]] = field(default_factory=dict)


def member_label(name: str, pods: list[str], left: bool) -> str:
    """``Carl · POD IT001E00000003`` (``+1 POD`` for each further one; ``no POD``), and
    ``(former member)`` for one who left."""
    shown = f"POD {pods[0]}" + (f" +{len(pods) - 1}" if len(pods) > 1 else "") if pods else "no POD"
    return f"{name} \u00b7 {shown}" + (" (former member)" if left else "")


async def _members(session: Any, user: Principal, community_id: int) -> dict[int, str]:
    found, _ = await communities.list_members(
        session=session, principal=user, community_id=community_id, page=1, per_page=10_000,
        include_former=True,
    )  # fmt: skip
    rows, _ = await plants.list_plants(
        session=session, principal=user, community_id=community_id, page=1, per_page=100_000
    )
    pods: dict[int, list[str]] = defaultdict(list)
    for plant in rows:
        pods[plant.member_id].append(plant.pod_code)
    listed = sorted(found, key=lambda m: (m.name.casefold(), m.member_id))
    return {
        EVERY: "Every member",
        **{
            m.member_id: member_label(m.name, pods[m.member_id], m.left_on is not None)
            for m in listed
        },
    }


async def choices(user: Principal, sites: dict[int, Site]) -> Choices:
    """The groups whose every site the user sees, the communities, baselines, members and DR
    events it may see."""
    made = Choices()
    async with current().session() as session:
        found = await groups.list_groups(session=session, principal=user, limit=1000)
        visible, _ = await communities.list_communities(
            session=session, principal=user, page=1, per_page=1000
        )
        fitted = await baselines.list_baselines(session=session, principal=user)
        for community in visible:
            made.members[community.id] = await _members(session, user, community.id)
        events = await dr.list_events(session=session, principal=user, limit=5000)
    made.groups = {v.group.id: v.group.name for v in found if v.complete}
    made.communities = {c.id: c.name for c in visible}
    made.baselines = {b.id: b.name for b in fitted}
    for site_id in sites:
        made.events[site_id] = {EVERY: "Every event of the period"}
    for event in events:
        listed = made.events.get(event.site_id)
        if listed is not None and len(listed) <= EVENTS_PER_SITE:
            zone = sites[event.site_id].timezone
            listed[event.id] = f"{window(event, zone)} \u00b7 {event.status}"
    return made


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(e["msg"] for e in error.errors())
    return str(error)


def _select(options: dict[Any, str], label: str, mark: str, width: str = "w-56") -> ui.select:
    """A select as wide as ``width`` or the screen allows (its label never cut on a phone)."""
    element = ui.select(options, label=label, value=next(iter(options), None))
    return element.classes(f"{width} max-w-full").props(f"data-testid=report-{mark}")


def _params(kind: str, baseline: Any, event: Any, member: Any) -> dict[str, Any]:
    """The kind's parameters from the form: a baseline, an event or a member when one is
    chosen (``EVERY``: none named)."""
    params: dict[str, Any] = {}
    if kind == "iso50001":
        params["baseline_id"] = baseline
    if kind == "dr_event" and event not in (None, EVERY):
        params["event_id"] = event
    if kind in COMMUNITY_KINDS and member not in (None, EVERY):
        params["member_id"] = member
    return params


async def create_form(user: Principal, sites: dict[int, Site]) -> None:
    """The form; a saved report opens its preview (``/reports?report=<id>``)."""
    offered = await choices(user, sites)
    kinds = load()
    targets = {k: v for k, v in TARGETS.items() if k != "group" or offered.groups}
    if not offered.communities:
        targets.pop("community")

    def kind_options(target: str) -> dict[str, str]:
        return {k.name: k.title for k in kinds.values() if target in k.targets}

    with ui.card().classes("w-full").props("data-testid=report-form"):
        ui.label("New report").classes("text-subtitle1")
        with ui.row().classes("w-full items-end gap-3 flex-wrap"):
            name = ui.input("Name", value="Monthly energy").props("data-testid=report-name")
            target = _select(targets, "Of", "target", "w-40")
            site = _select({i: s.name for i, s in sites.items()}, "Site", "site")
            site.bind_visibility_from(target, "value", value="site")
            group = _select(offered.groups, "Group", "group")
            group.bind_visibility_from(target, "value", value="group")
            zone = ui.input("Time zone (optional)").classes("w-48 max-w-full")
            zone.props("data-testid=report-timezone")
            zone.bind_visibility_from(target, "value", value="group")
            community = _select(offered.communities, "Community", "community")
            community.bind_visibility_from(target, "value", value="community")
            kind = _select(kind_options("site"), "Kind", "kind", "w-72")
            schedule = _select(SCHEDULES, "Schedule", "schedule", "w-40")
            schedule.set_value("monthly")
            baseline = _select(offered.baselines, "Baseline", "baseline")
            baseline.bind_visibility_from(kind, "value", value="iso50001")
            event = _select(offered.events.get(site.value, {}), "DR event", "event", "w-96")
            event.bind_visibility_from(kind, "value", value="dr_event")
            members = offered.members.get(community.value, {})
            member = _select(members, "Member", "member", "w-80")
            member.bind_visibility_from(kind, "value", backward=lambda k: k in COMMUNITY_KINDS)
            pdf = ui.checkbox("PDF", value=True)
            csv = ui.checkbox("CSV", value=True)

        def on_target() -> None:
            options = kind_options(target.value)
            kind.set_options(options, value=next(iter(options), None))

        target.on_value_change(on_target)
        kind.on_value_change(
            lambda: schedule.set_value("none") if kind.value == "community_year" else None
        )
        site.on_value_change(
            lambda: event.set_options(offered.events.get(site.value, {}), value=EVERY)
        )
        community.on_value_change(
            lambda: member.set_options(offered.members.get(community.value, {}), value=EVERY)
        )

        async def create() -> None:
            formats = [f for f, box in (("pdf", pdf), ("csv", csv)) if box.value]
            chosen = {
                "site": {"site_id": site.value},
                "group": {"group_id": group.value, "timezone": zone.value or None},
                "community": {"community_id": community.value},
            }[target.value]
            try:
                data = DefinitionCreate(
                    **chosen,
                    name=name.value,
                    kind=kind.value,
                    params=_params(kind.value, baseline.value, event.value, member.value),
                    formats=formats,
                    schedule=schedule.value,
                )
                async with current().session() as session:
                    made = await service.create_definition(
                        session=session, principal=user, data=data
                    )
            except (GridpilotError, ValidationError) as error:
                ui.notify(_problem(error), type="negative", multi_line=True)
                return
            ui.notify(f"report {made.name!r} saved", type="positive")
            ui.navigate.to(f"/reports?report={made.id}")

        ui.button("Save", icon="save", on_click=create).props("data-testid=report-create")
