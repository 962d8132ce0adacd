"""``gridpilot simulate``: provision a scenario, backfill history, run it live.

``--backfill 90d`` writes history through the telemetry ingest service (progress bar) and
raises the raw retention for its own run when the span needs it (older raw readings are
rolled up and then removed by the server's retention, as configured). Without ``--backfill``
the scenario runs live: in-process ingest (default), MQTT (``--via mqtt``, the seeds' topics)
or HTTP (``--via http --url ... --api-key ...``).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridpilot.cli.offline import offline_writer
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings

console = Console(stderr=True)

SCENARIO_NAMES = ("factory", "building", "portfolio", "community")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """``90d``, ``12h``, ``15m``, ``30s`` -> milliseconds (``BadParameter`` otherwise)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration like 90d, 12h, 15m or 30s")
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


def scenario_list(names: list[str]) -> list[str]:
    chosen: list[str] = []
    for name in names:
        for part in name.split(","):
            part = part.strip().lower()
            if part == "all":
                chosen.extend(SCENARIO_NAMES)
            elif part in SCENARIO_NAMES:
                chosen.append(part)
            else:
                raise typer.BadParameter(
                    f"unknown scenario {part!r}; choose from {', '.join(SCENARIO_NAMES)}, all"
                )
    return list(dict.fromkeys(chosen))


def backfill_settings(settings: Settings, span_ms: int) -> Settings:
    """``settings`` with the raw retention raised to cover ``span_ms`` when it is shorter."""
    days = settings.retention_raw_days
    needed = int(span_ms // _UNIT_MS["d"]) + 2
    if days is not None and days < needed:
        console.print(
            f"[yellow]raw retention is {days} days; this run accepts readings up to {needed} days "
            "old. The server's retention will roll them up and then remove raw readings older "
            f"than {days} days (set GRIDPILOT_RETENTION_RAW_DAYS to keep them).[/]"
        )
        return settings.model_copy(update={"retention_raw_days": needed})
    return settings


async def run_backfill(
    settings: Settings,
    scenarios: list[str],
    *,
    span_ms: int,
    step_ms: int,
    seed: int,
    progress: Progress | None = None,
) -> Any:
    """Provision ``scenarios`` and backfill ``span_ms`` of history; returns the report."""
    from gridpilot.sim.backfill import backfill
    from gridpilot.sim.provision import provision

    async with offline_writer(settings) as offline:
        assets = await provision(sessions=offline.sessions, bus=offline.bus, scenarios=scenarios)
        task = progress.add_task("backfilling", total=None) if progress else None

        def on_progress(done: int, total: int) -> None:
            if progress is not None and task is not None:
                progress.update(task, completed=done, total=total)

        return await backfill(
            assets,
            runtime=offline.telemetry,
            seed=seed,
            span_ms=span_ms,
            step_ms=step_ms,
            on_progress=on_progress,
        )


def simulate(
    scenario: list[str] = typer.Option(
        ["factory"],
        "--scenario",
        "-s",
        help="factory, building, portfolio, community or all (repeat or comma-separate).",
    ),
    backfill: str | None = typer.Option(
        None, "--backfill", help="Write this much history (e.g. 90d, 12h) and exit."
    ),
    step: str = typer.Option("5m", "--step", help="Output step of backfilled history (>= native)."),
    seed: int = typer.Option(42, "--seed", help="Random seed: the same seed gives the same data."),
    speed: float = typer.Option(
        1.0,
        "--speed",
        min=0.1,
        max=10_000,
        help="Live mode: simulated seconds per wall-clock second.",
    ),
    via: str = typer.Option("ingest", "--via", help="Live mode: ingest (in-process), mqtt, http."),
    url: str | None = typer.Option(None, "--url", help="--via http: the gridpilot base URL."),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="GRIDPILOT_SIM_API_KEY", help="--via http: a service API key."
    ),
    duration: str | None = typer.Option(
        None,
        "--duration",
        help="Live mode: stop after this wall-clock time (e.g. 10m); default: until Ctrl-C.",
    ),
) -> None:
    """Simulate a factory, an office building, a PV/wind/battery portfolio or a community."""
    scenarios = scenario_list(scenario)
    settings = Settings()
    if backfill is not None:
        span_ms = parse_duration_ms(backfill)
        settings = backfill_settings(settings, span_ms)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("asset-days"),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns, console=console) as progress:
                report = asyncio.run(
                    run_backfill(
                        settings,
                        scenarios,
                        span_ms=span_ms,
                        step_ms=parse_duration_ms(step),
                        seed=seed,
                        progress=progress,
                    )
                )
        except GridpilotError as exc:
            console.print(f"[red]simulate failed:[/] {exc.message}")
            raise typer.Exit(2) from None
        colour = "green" if not report.rejected else "yellow"
        console.print(
            f"[{colour}]{report.stored:,} readings stored, {report.rejected:,} rejected"
            f"[/] in {report.seconds:.1f} s ({', '.join(scenarios)})"
        )
        for reason in report.reasons:
            console.print(f"  rejected: {reason}")
        raise typer.Exit(1 if report.rejected else 0)
    from gridpilot.cli.simulate_live import run_live_command

    run_live_command(
        settings,
        scenarios,
        seed=seed,
        speed=speed,
        via=via,
        url=url,
        api_key=api_key,
        duration_s=parse_duration_ms(duration) / 1000 if duration else None,
    )
