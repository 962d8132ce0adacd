"""``/settings/alert-rules`` (configure, as ``/api/v1/alert-rules``): list, create, edit,
enable/disable and delete alert rules, with a preview of what a threshold or rate rule would
have raised over the last day (``alerts.preview``)."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import channels as channel_service
from gridpilot.alerts import service as rules
from gridpilot.alerts.events import alert_events, publish_all, rule_event
from gridpilot.alerts.kinds import KIND_NAMES, KINDS
from gridpilot.alerts.models import AlertRule
from gridpilot.alerts.preview import PREVIEW_KINDS, Draft, preview_rule
from gridpilot.alerts.schemas import RuleCreate, RuleUpdate
from gridpilot.assets import service as assets
from gridpilot.assets.catalogue import metric_name
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core import events as catalogue
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act, blank, confirm, dialog_card, section
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.numbers import local_datetime
from gridpilot.web.settings_view import back_link, empty_note, item_row

UNITS = {"_s": "s", "_pct": "%", "_kw": "kW", "_per_min": "per min"}
SHOWN_HITS = 10


def param_label(name: str) -> str:
    """``duration_s`` -> ``Duration [s]``, ``margin_pct`` -> ``Margin [%]``."""
    if name in ("threshold", "hysteresis"):
        return f"{name.capitalize()} [the metric's unit]"
    for suffix, unit in UNITS.items():
        if name.endswith(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ').capitalize()} [{unit}]"
    return name.replace("_", " ").capitalize()


def _choices(prop: dict[str, Any]) -> list[Any] | None:
    for option in [prop, *prop.get("anyOf", [])]:
        if "enum" in option:
            return list(option["enum"])
    return None


def _param_fields(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """An input per parameter of ``kind`` (from its params model's JSON schema)."""
    schema = KINDS[kind].params.model_json_schema()
    fields: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        value = values.get(name, prop.get("default"))
        label = param_label(name)
        types = {o.get("type") for o in [prop, *prop.get("anyOf", [])]}
        if (choices := _choices(prop)) is not None:
            element: Any = ui.select(choices, value=value, label=label)
        elif "boolean" in types:
            element = ui.select({True: "yes", False: "no"}, value=bool(value), label=label)
        else:
            element = ui.number(label, value=value)
        fields[name] = element.classes("w-full").props(f"data-testid=param-{name}")
    return fields


class RuleForm:
    """The rule's inputs in a dialog; ``params`` re-drawn when the kind changes."""

    def __init__(self, rule: AlertRule | None, options: dict[str, dict[Any, str]]) -> None:
        self.rule = rule
        kind = rule.kind if rule else "threshold"
        self.fields: dict[str, Any] = {
            "name": ui.input("Name", value=rule.name if rule else ""),
            "kind": ui.select(list(KIND_NAMES), value=kind, label="Kind"),
            "severity": ui.select(
                ["info", "warning", "critical"], value=rule.severity if rule else "warning"
            ),
            "metric": ui.select(
                options["metrics"], value=rule.metric if rule else "power_kw", label="Metric"
            ),
            "site_id": ui.select(options["sites"], value=rule.site_id if rule else None),
            "asset_id": ui.select(options["assets"], value=rule.asset_id if rule else None),
            "channel_ids": ui.select(
                options["channels"], value=list(rule.channel_ids) if rule else [], multiple=True
            ),
        }
        self.fields["severity"].props("label=Severity")
        self.fields["site_id"].props("label='Site (empty: every site)' clearable")
        self.fields["asset_id"].props("label='Asset (empty: every asset in scope)' clearable")
        self.fields["channel_ids"].props("label='Notification channels' use-chips")
        self.fields["metric"].props("clearable")
        if rule is not None:
            self.fields["kind"].disable()
        for name, element in self.fields.items():
            element.classes("w-full").props(f"data-testid=rule-{name}")
        section("Parameters")
        self.params_box = ui.column().classes("w-full gap-1")
        self.params: dict[str, Any] = {}
        self.form = Form({**self.fields, "params": self.fields["kind"]}, "rule")
        self._draw_params(dict(rule.params) if rule else {})
        self.fields["kind"].on_value_change(lambda: self._draw_params({}))

    def _draw_params(self, values: dict[str, Any]) -> None:
        self.params_box.clear()
        with self.params_box:
            self.params = _param_fields(self.fields["kind"].value, values)
        self.form.fields.update(self.params)

    def body(self) -> dict[str, Any]:
        values = {k: blank(e.value) for k, e in self.fields.items()}
        values["name"] = (values["name"] or "").strip()
        values["channel_ids"] = list(values["channel_ids"] or [])
        values["params"] = {k: e.value for k, e in self.params.items() if e.value is not None}
        return values

    def draft(self) -> Draft:
        v = self.body()
        return Draft(v["kind"], v["metric"], v["params"], v["site_id"], v["asset_id"])


async def _options(user: Principal) -> dict[str, dict[Any, str]]:
    async with current().session() as session:
        sites = await assets.list_sites(session=session, principal=user)
        found = await assets.list_assets(session=session, principal=user)
        metrics = await assets.list_metrics(session=session)
        channels = await channel_service.list_channels(
            session=session, principal=user, limit=1000, offset=0
        )
    names = {s.id: s.name for s in sites}
    return {
        "sites": names,
        "assets": {a.id: f"{a.name} ({names.get(a.site_id, a.site_id)})" for a in found},
        "metrics": {m.key: f"{metric_name(m.key)} [{m.unit}]" for m in metrics},
        "channels": {c.id: c.name for c in channels},
    }


def rule_caption(rule: AlertRule, options: dict[str, dict[Any, str]]) -> str:
    """``threshold · power_kw · Main meter (Plant) · critical``."""
    scope = (
        options["assets"].get(rule.asset_id, f"asset {rule.asset_id}")
        if rule.asset_id
        else options["sites"].get(rule.site_id, f"site {rule.site_id}")
        if rule.site_id
        else "every site"
    )
    parts = [rule.kind.replace("_", " ")]
    if rule.metric:
        parts.append(options["metrics"].get(rule.metric, rule.metric))
    parts += [scope, rule.severity]
    if rule.builtin:
        parts.append("built in")
    return " · ".join(parts)


async def _publish(rule_id: int, action: str, resolved: list[Any]) -> None:
    events = [rule_event(rule_id, action), *alert_events(catalogue.ALERT_RESOLVED.name, resolved)]
    await publish_all(current().app, events)


async def _show_preview(form: RuleForm, box: ui.column, zones: dict[int, str]) -> None:
    box.clear()
    draft = form.draft()
    with box:
        if draft.kind not in PREVIEW_KINDS:
            ui.label(
                f"No preview for {draft.kind.replace('_', ' ')} rules: they depend on device "
                "status, the site balance at each moment or events, which are not stored as a "
                "series. Threshold and rate of change rules can be previewed."
            ).classes("text-caption").props("data-testid=preview-result")
            return

    async def action(session: AsyncSession, user: Principal) -> Any:
        return await preview_rule(session=session, principal=user, draft=draft)

    found = await act(action, need=Permission.CONFIGURE, form=form.form)
    if found is None:
        return
    with box:
        count = len(found.raised)
        more = (
            f" (the first {found.assets_checked} of {found.assets_in_scope} assets)"
            if found.assets_in_scope > found.assets_checked
            else ""
        )
        ui.label(
            f"Over the last 24 h this rule would have raised {count:,} "
            f"alert{'s' if count != 1 else ''} on {found.assets_checked:,} "
            f"asset{'s' if found.assets_checked != 1 else ''}{more}, judged on 1-minute averages."
        ).classes("text-body2").props("data-testid=preview-result")
        for hit, ts in list(zip(found.raised, found.raised_ms, strict=True))[:SHOWN_HITS]:
            when = local_datetime(ts, zones.get(hit.site_id, "UTC"))
            ui.label(f"{when}: {hit.title}").classes("text-caption")


def rule_dialog(
    rule: AlertRule | None, options: dict[str, dict[Any, str]], zones: dict[int, str], done: Any
) -> None:
    dialog, card = dialog_card(40)
    with card:
        ui.label("New alert rule" if rule is None else f"Edit {rule.name}").classes("text-h6")
        form = RuleForm(rule, options)
        preview = ui.column().classes("w-full gap-0")

        async def save() -> None:
            body = form.body()

            async def action(session: AsyncSession, user: Principal) -> tuple[AlertRule, list]:
                if rule is None:
                    data = RuleCreate.model_validate({**body, "enabled": True})
                    return await rules.create_rule(session=session, principal=user, data=data), []
                changes = RuleUpdate.model_validate({k: v for k, v in body.items() if k != "kind"})
                return await rules.update_rule(
                    session=session, rule_id=rule.id, principal=user, changes=changes
                )

            saved = await act(action, need=Permission.CONFIGURE, form=form.form)
            if saved is not None:
                dialog.close()
                ui.notify(f"Rule {saved[0].name} saved", type="positive")
                await _publish(saved[0].id, "created" if rule is None else "updated", saved[1])
                await done()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(
                "Preview last 24 h", on_click=lambda: _show_preview(form, preview, zones)
            ).props("outline data-testid=rule-preview")
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", on_click=save).props("unelevated data-testid=rule-save")
    dialog.open()


async def _toggle(rule: AlertRule, done: Any) -> None:
    async def action(session: AsyncSession, user: Principal) -> tuple[AlertRule, list]:
        changes = RuleUpdate(enabled=not rule.enabled)
        return await rules.update_rule(
            session=session, rule_id=rule.id, principal=user, changes=changes
        )

    state = "disabled" if rule.enabled else "enabled"
    saved = await act(action, need=Permission.CONFIGURE, done=f"Rule {rule.name} {state}")
    if saved is not None:
        await _publish(rule.id, "updated", saved[1])
        await done()


def _ask_delete(rule: AlertRule, done: Any) -> None:
    async def go() -> None:
        async def action(session: AsyncSession, user: Principal) -> list:
            return await rules.delete_rule(session=session, rule_id=rule.id, principal=user)

        resolved = await act(action, need=Permission.CONFIGURE, done=f"Rule {rule.name} deleted")
        if resolved is not None:
            await _publish(rule.id, "deleted", resolved)
            await done()

    confirm(
        f"Delete {rule.name}?",
        "Its open alerts are resolved; alerts it raised stay in the history. "
        "This cannot be undone (disabling keeps the rule).",
        go,
        "Delete rule",
    )


async def _rules_list(user: Principal, holder: ui.column) -> None:
    async with current().session() as session:
        found = await rules.list_rules(
            session=session, principal=user, site_id=None, kind=None, limit=1000, offset=0
        )
        zones = {s.id: s.timezone for s in await assets.list_sites(session=session, principal=user)}
    options = await _options(user)

    async def refresh() -> None:
        holder.clear()
        with holder:
            await _rules_list(user, holder)

    ui.button(
        "Add rule", icon="add_alert", on_click=lambda: rule_dialog(None, options, zones, refresh)
    ).props("unelevated data-testid=add-rule")
    if not found:
        empty_note("No alert rules yet.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for rule in found:
            actions = [
                ("edit", "Edit", lambda r=rule: rule_dialog(r, options, zones, refresh)),
                (
                    "toggle_on" if rule.enabled else "toggle_off",
                    "Disable" if rule.enabled else "Enable",
                    lambda r=rule: _toggle(r, refresh),
                ),
            ]
            if not rule.builtin:
                actions.append(("delete", "Delete", lambda r=rule: _ask_delete(r, refresh)))
            item_row(
                rule.name,
                rule_caption(rule, options),
                None,
                f"rule-{rule.id}",
                actions,
                icon="notifications_active" if rule.enabled else "notifications_off",
                badge=("enabled", "positive") if rule.enabled else ("disabled", "grey"),
            )


def register() -> None:
    @ui.page("/settings/alert-rules")
    async def rules_page() -> None:
        user = await require_login("/settings/alert-rules")
        if user is None:
            return
        with frame(user, "Alert rules"):
            back_link("/settings", "Settings")
            if not user.has(Permission.CONFIGURE):
                ui.label("Alert rules are managed by operators and administrators.")
                return
            holder = ui.column().classes("w-full gap-3").props("data-testid=rules-settings")
            await painted()
            with holder:
                await _rules_list(user, holder)
