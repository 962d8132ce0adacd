"""The MPC loop: every ``flex_mpc_interval_s`` (15 min), re-plan each site that has enabled
auto-dispatched resources, from the latest forecasts and measured SOC, store the schedule and
dispatch the step holding now as device commands (``dispatch.py``).

Each site is planned and dispatched in its own transaction; command changes are published
after the commit (the control service's command link sends them). Of several processes sharing
the database, one runs each round (``db.schedules``). A site that cannot be planned (missing
forecast or tariff) is skipped with a log line; the next round tries again. Tests call
``run_once(at_ms)`` instead of running the loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control.events import CommandChange, publish_command_changes
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import GridpilotError
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms
from gridpilot.db.schedules import claimed_periodic
from gridpilot.flex.dispatch import FLEX, Dispatched, dispatch_first_step
from gridpilot.flex.resources import auto_dispatch_sites, list_resources
from gridpilot.flex.schedule_schemas import ScheduleRequest
from gridpilot.flex.schedules import plan_schedule
from gridpilot.insights.forecasts.tasks import weather_of
from gridpilot.insights.forecasts.weather import WeatherSource, make_weather_source

log = logging.getLogger(__name__)

#: After a (re)start the first round comes this soon [s], not a whole interval later.
_FIRST_RUN_DELAY_S = 60.0


@dataclass
class SiteRound:
    """One site in one round: the stored schedule and what was dispatched, or the error."""

    site_id: int
    schedule_id: int | None = None
    status: str | None = None
    dispatched: list[Dispatched] = field(default_factory=list)
    error: str | None = None


class FlexRuntime:
    """Runs the MPC loop in the background of one process (``stop()`` ends it)."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        weather: WeatherSource | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.bus = bus
        self.weather = weather
        interval = settings.flex_mpc_interval_s
        self.job = claimed_periodic(
            sessions, "flex-mpc", interval, self.run_once,
            first_delay_s=min(interval, _FIRST_RUN_DELAY_S),
        )  # fmt: skip

    def start(self) -> None:
        self.job.start()

    async def stop(self) -> None:
        await self.job.stop()

    async def run_once(self, at_ms: int | None = None) -> list[SiteRound]:
        """Re-plan and dispatch every auto-dispatched site at ``at_ms`` (default: now)."""
        now = now_ms() if at_ms is None else at_ms
        async with self.sessions() as session:
            site_ids = await auto_dispatch_sites(session=session)
        rounds = []
        for site_id in site_ids:
            changes: list[CommandChange] = []
            done = SiteRound(site_id)
            try:
                async with self.sessions() as session, session.begin():
                    changes = await self._site(session, site_id, now, done)
            except GridpilotError as exc:
                log.info("flex MPC: site %d not planned: %s", site_id, exc.message)
                done.error = exc.message
            except Exception as exc:
                log.exception("flex MPC: site %d failed", site_id)
                done.error = f"{type(exc).__name__}: {exc}"
            await publish_command_changes(self.bus, changes)
            rounds.append(done)
        return rounds

    async def _site(
        self, session: AsyncSession, site_id: int, now: int, done: SiteRound
    ) -> list[CommandChange]:
        schedule = await plan_schedule(
            session=session, site_id=site_id, request=ScheduleRequest(), principal=None,
            settings=self.settings, now_ms=now, weather=self.weather, actor=FLEX.subject,
        )  # fmt: skip
        done.schedule_id, done.status = schedule.id, schedule.status
        resources = await list_resources(session=session, site_id=site_id, enabled_only=True)
        done.dispatched, changes = await dispatch_first_step(
            session=session, schedule=schedule, resources=resources, settings=self.settings,
            now_ms=now,
        )  # fmt: skip
        return changes


FLEX_RUNTIME: Slot[FlexRuntime] = Slot("flex")


async def start_flex(app: Any) -> FlexRuntime:
    """Build and start the MPC loop of ``app`` (its ``FLEX_RUNTIME`` slot); the weather source
    is the forecast job's when it runs, else the settings'."""
    shared = runtime_of(app)
    weather = weather_of(app) or make_weather_source(shared.settings)
    runtime = FlexRuntime(shared.settings, shared.sessions, shared.bus, weather)
    runtime.start()
    return runtime
