"""``gridpilot flex ...``: a site's flexible resources and its day-ahead schedule.

``list``, ``add`` and ``remove`` manage the resources (as ``/api/v1/sites/{id}/flex-resources``
does: the same checks, the same messages); ``schedule`` shows the latest stored schedule as a
table in the site's local time; ``plan`` plans the site now and stores the schedule (as
``POST /api/v1/sites/{id}/schedule``). The CLI acts as the system (no user scope), like
``gridpilot user``. Errors end the command with code 1 and the reason on stderr.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.cli.users import err, run_in_transaction
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms, to_ms
from gridpilot.flex import service
from gridpilot.flex.schedule_schemas import ScheduleOut, ScheduleRequest
from gridpilot.flex.schemas import ResourceCreate, ResourceOut

app = typer.Typer(no_args_is_help=True)
KINDS = "battery, ev_charger, deferrable_load, curtailable_load, hvac, pv_curtailment"
SITE = typer.Argument(..., help="The site's id.", min=1)

#: Wide enough for the schedule's nine columns whatever the terminal says (CI has 80).
out = Console(width=160)


def _summary(r: ResourceOut) -> str:
    """The params in one line, units in the names."""
    shown = []
    for key, value in r.params.model_dump().items():
        if value is None:
            continue
        if key == "sessions":
            value = f"{len(value)} session(s)"
        shown.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(shown)


@app.command("list")
def list_resources(site_id: int = SITE) -> None:
    """List a site's flexible resources with their figures."""

    async def work(session: AsyncSession) -> list[ResourceOut]:
        return await service.list_resources(session=session, site_id=site_id, principal=None)

    resources = run_in_transaction(work)
    if not resources:
        err.print(f"site {site_id} has no flexible resources (add one: gridpilot flex add)")
        return
    table = Table("id", "kind", "name", "asset", "enabled", "auto dispatch", "params")
    for r in resources:
        table.add_row(str(r.id), r.kind, r.name, "-" if r.asset_id is None else str(r.asset_id),
                      "yes" if r.enabled else "no", "yes" if r.auto_dispatch else "no",
                      _summary(r))  # fmt: skip
    out.print(table)


@app.command("add")
def add(
    site_id: int = SITE,
    kind: str = typer.Option(..., "--kind", help=f"One of: {KINDS}."),
    name: str = typer.Option(..., "--name", help="Unique on the site, e.g. BESS."),
    params: str = typer.Option(
        ...,
        "--params",
        help="The kind's figures as JSON, e.g. '{\"capacity_kwh\": 100, "
        '"charge_max_kw": 50, "discharge_max_kw": 50}\' (docs/flexibility.md).',
    ),
    asset: int | None = typer.Option(None, "--asset", help="The site's asset that carries it."),
    auto_dispatch: bool = typer.Option(
        False, "--auto-dispatch", help="Re-plan every 15 min and send the steps as commands."
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Keep it out of schedules."),
) -> None:
    """Add a flexible resource to a site (checked as the API checks it)."""
    try:
        figures = json.loads(params)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--params") from None
    body = {"kind": kind, "name": name, "asset_id": asset, "params": figures,
            "auto_dispatch": auto_dispatch, "enabled": not disabled}  # fmt: skip
    try:
        data = TypeAdapter(ResourceCreate).validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        err.print(f"[red]error:[/] {where}: {first['msg']}")
        raise typer.Exit(1) from None

    async def work(session: AsyncSession) -> ResourceOut:
        return await service.create_resource(
            session=session, site_id=site_id, data=data, principal=None
        )

    made = run_in_transaction(work)
    err.print(f"[green]added {made.kind} {made.name!r}[/] (id {made.id}) to site {site_id}")
    typer.echo(made.id)


@app.command("remove")
def remove(
    site_id: int = SITE,
    resource_id: int = typer.Argument(..., help="The resource's id (gridpilot flex list).", min=1),
) -> None:
    """Remove a flexible resource from a site."""

    async def work(session: AsyncSession) -> None:
        await service.delete_resource(
            session=session, site_id=site_id, resource_id=resource_id, principal=None
        )

    run_in_transaction(work)
    err.print(f"[green]removed resource {resource_id}[/] from site {site_id}")


def _local(ts: str, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(to_ms(ts) / 1000, zone).strftime("%d %b %H:%M")


def _print_schedule(plan: ScheduleOut, timezone: str, steps: int) -> None:
    """The plan's summary lines and its first ``steps`` steps as a table (site local time)."""
    zone = ZoneInfo(timezone)
    s = plan.savings
    err.print(
        f"schedule {plan.id} of site {plan.site_id}: {plan.status} ({plan.solver_status}), "
        f"planned {_local(plan.created_at, zone)} {timezone}, cost {plan.cost.total_eur} EUR, "
        f"saves {s.saving_vs_no_battery_eur} EUR vs no battery, "
        f"{s.saving_vs_rule_based_eur} EUR vs rule-based"
    )
    for c in plan.conflicts:
        err.print(f"[yellow]conflict[/] {c.group}: {c.message}")
    for note in plan.notes:
        err.print(f"note: {note}")
    batteries = sorted({n for step in plan.steps for n in step.batteries})
    table = Table(f"time ({timezone})", "load kW", "PV kW", "import kW", "export kW",
                  "EUR/kWh", *[f"{n} kW (+charge)" for n in batteries],
                  *[f"{n} SOC %" for n in batteries], "shifted kW")  # fmt: skip
    for step in plan.steps[:steps]:
        power = [step.batteries[n].charge_kw - step.batteries[n].discharge_kw for n in batteries]
        soc = [step.batteries[n].soc_pct for n in batteries]
        shifted = sum(step.deferrable_kw.values()) + sum(step.ev_kw.values())
        table.add_row(_local(step.ts, zone), *(f"{v:,.1f}" for v in (
            step.load_kw, step.pv_kw, step.grid_import_kw, step.grid_export_kw)),
            f"{step.price_eur_per_kwh:.4f}", *(f"{v:,.1f}" for v in power),
            *(f"{v:.1f}" for v in soc), f"{shifted:,.1f}")  # fmt: skip
    out.print(table)


STEPS = typer.Option(96, "--steps", min=1, max=192, help="How many steps to show.")


@app.command("schedule")
def schedule(site_id: int = SITE, steps: int = STEPS) -> None:
    """Show the site's latest stored schedule as a table in its local time."""

    async def work(session: AsyncSession) -> tuple[ScheduleOut, str]:
        plan = await service.get_latest_schedule(session=session, site_id=site_id)
        return plan, await _timezone(session, site_id)

    plan, timezone = run_in_transaction(work)
    _print_schedule(plan, timezone, steps)


async def _timezone(session: AsyncSession, site_id: int) -> str:
    from gridpilot.assets.service import get_site
    from gridpilot.insights.data import SYSTEM

    return (await get_site(session=session, site_id=site_id, principal=SYSTEM)).timezone


@app.command("plan")
def plan(
    site_id: int = SITE,
    horizon_h: int = typer.Option(24, "--horizon-h", min=24, max=48, help="Hours ahead."),
    step_min: int = typer.Option(15, "--step-min", help="Step length: 15, 30 or 60 minutes."),
    export_price: float | None = typer.Option(
        None,
        "--export-price",
        help="A flat price of exported energy [EUR/kWh] overriding the tariff's export prices.",
    ),
    steps: int = STEPS,
) -> None:
    """Plan the site's flexible resources now, store the schedule and show it."""
    try:
        fields = {"horizon_h": horizon_h, "step_min": step_min,
                  "export_price_eur_per_kwh": export_price}  # fmt: skip
        request = ScheduleRequest.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"[red]error:[/] {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
        raise typer.Exit(1) from None

    async def work(session: AsyncSession) -> tuple[ScheduleOut, str]:
        made = await service.plan_schedule(
            session=session, site_id=site_id, request=request, principal=None,
            settings=Settings(), now_ms=now_ms(), actor="cli",
        )  # fmt: skip
        return made, await _timezone(session, site_id)

    made, timezone = run_in_transaction(work)
    _print_schedule(made, timezone, steps)
