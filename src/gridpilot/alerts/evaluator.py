"""The alerts runtime of one process: bus subscriptions, the evaluation worker, the notifier.

Bus handlers only enqueue (ingestion is never slowed down by alert evaluation); one worker task
evaluates events in order against ``checks.Watch`` and applies the decisions in one
transaction, then publishes ``alert.raised|resolved`` after the commit and wakes the notifier.
``readings`` and ``status`` events already queued behind one another (a burst: many assets
going offline at once) are evaluated together and their decisions applied in one transaction.
Every ``alerts_eval_interval_s`` a tick reloads rules, assets and sites and runs the time-based
checks (stale data, anomaly quiet period). Site checks (contract demand, balance check) of the
sites a readings batch touched get those sites' current balance from the balance cache
(its ``BALANCE`` slot, kept up to date from the same ``readings.stored``). When the queue is
full, ``readings.stored`` payloads are conflated (newest value per asset and metric) instead of
dropped.

Several processes may evaluate the same events (Redis bus): the partial unique index on open
alerts keeps one alert per rule and subject.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.alerts import targets
from gridpilot.alerts.checks import Watch
from gridpilot.alerts.lifecycle import event_payload, raise_alert, resolve_open
from gridpilot.alerts.models import Alert, AlertRule
from gridpilot.alerts.notify import Notifier
from gridpilot.alerts.service import ensure_builtin_rules
from gridpilot.alerts.views import (
    Clear,
    Decision,
    Raise,
    RuleView,
    SiteNow,
    SiteView,
    subject_of,
)
from gridpilot.assets.service import asset_summaries, site_contracts
from gridpilot.balance.cache import BALANCE
from gridpilot.balance.current import DEFAULT_MAX_AGE_MS, CurrentBalance, current_balances
from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_all, finish_then_cancel, reraise_if_stopping
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.queries import last_seen

log = logging.getLogger(__name__)

RULE_CHANGED = catalogue.ALERT_RULE_CHANGED.name
#: Event kinds evaluated together when several are queued (one transaction for their decisions).
_BATCHED = frozenset({"readings", "status"})
_MAX_BATCH = 500
_SUBSCRIPTIONS = {
    catalogue.READINGS_STORED.name: "readings",
    catalogue.ASSET_STATUS.name: "status",
    catalogue.ANOMALY_DETECTED.name: "anomaly",
    catalogue.FORECAST_STORED.name: "forecast",
    catalogue.ASSET_CHANGED.name: "reload",
    catalogue.GROUP_CHANGED.name: "reload",  # rules on a group: its new members
    RULE_CHANGED: "reload",
}
#: Power readings older than this [ms] are left out of the balance of site checks (as before
#: the balance: a meter reporting every 15 min still counts until its next reading).
BALANCE_MAX_AGE_MS = DEFAULT_MAX_AGE_MS  # as /current: slower meters by their interval


class BalanceSource(Protocol):
    """Where site checks read the current balance: ``balance.cache.CurrentBalanceCache``."""

    async def balances(
        self, site_ids: Sequence[int], *, now_ms: int, max_age_ms: int
    ) -> dict[int, CurrentBalance]: ...


class AlertRuntime:
    """Evaluates alert rules on bus events and on a schedule; delivers notifications."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        balance: BalanceSource | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.bus = bus
        self.balance = balance
        self.notifier = Notifier(settings, sessions)
        self.watch = Watch(
            default_interval_s=settings.status_default_interval_s,
            min_stale_s=settings.status_min_stale_s,
        )
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(
            maxsize=settings.alerts_queue_max
        )
        self._overflow: dict[int, dict[str, Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._reload_queued = False
        self.reloads = 0  # for tests and metrics

    async def start(self) -> None:
        if self.settings.alerts_builtin_rules:
            try:
                async with self.sessions() as session, session.begin():
                    await ensure_builtin_rules(session=session)
            except IntegrityError:  # another process created them at the same moment
                log.info("built-in alert rules already created by another process")
        await self.reload()
        await self._load_state()
        for topic, kind in _SUBSCRIPTIONS.items():
            self._unsubscribe.append(self.bus.subscribe(topic, self._enqueuer(kind)))
        self._unsubscribe.append(self.bus.subscribe("alert.*", self._on_alert_event))
        self._tasks = [
            asyncio.create_task(self._work(), name="gridpilot-alerts"),
            asyncio.create_task(self._tick(), name="gridpilot-alerts-tick"),
        ]
        self.notifier.start()

    async def stop(self) -> None:
        """Unsubscribe, then stop the worker and the tick: an evaluation in progress ends first
        (its transaction is not cut), bounded by ``core.tasks.STOP_GRACE_S``."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        tasks, self._tasks = self._tasks, []
        await cancel_all(tasks)
        await self.notifier.stop()

    async def idle(self) -> None:
        """Wait until every queued event has been evaluated (tests, shutdown)."""
        await self.queue.join()

    # --- bus handlers (quick: enqueue only) ------------------------------------------------------

    def _enqueuer(self, kind: str) -> Callable[[str, dict[str, Any]], Any]:
        async def handler(topic: str, payload: dict[str, Any]) -> None:
            self.enqueue(kind, payload)

        return handler

    def enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "reload":  # one queued reload reads every change committed before it runs
            if self._reload_queued:
                return
            self._reload_queued = True
        try:
            self.queue.put_nowait((kind, payload))
        except asyncio.QueueFull:
            if kind != "readings":
                log.warning("alert evaluation queue full: %s event not evaluated", kind)
                self._reload_queued = self._reload_queued and kind != "reload"
                return
            for entry in payload.get("assets") or []:  # conflate: keep the newest values
                merged = self._overflow.setdefault(
                    entry.get("asset_id"), {"asset_id": entry.get("asset_id"), "latest": {}}
                )
                merged["latest"].update(entry.get("latest") or {})

    async def _on_alert_event(self, topic: str, payload: dict[str, Any]) -> None:
        """Keep the set of open alerts in step with changes made elsewhere (users, processes)."""
        rule_id, site_id = payload.get("rule_id"), payload.get("site_id")
        if not isinstance(rule_id, int) or not isinstance(site_id, int):
            return
        key = (rule_id, subject_of(site_id, payload.get("asset_id")))
        if topic == catalogue.ALERT_RESOLVED.name:
            self.watch.open.discard(key)
        elif topic == catalogue.ALERT_RAISED.name:
            self.watch.open.add(key)

    # --- loading ---------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Reload enabled rules, assets and sites from the database."""
        self.reloads += 1
        async with self.sessions() as session:
            rules = (await session.scalars(select(AlertRule).where(AlertRule.enabled))).all()
            assets = await asset_summaries(session=session)
            sites = await site_contracts(session=session)
            members = await targets.members(session, rules)  # dynamic groups: as of now
            watch = self.watch
            watch.rules = [
                RuleView(
                    r.id,
                    r.name,
                    r.kind,
                    r.metric,
                    r.site_id,
                    r.asset_id,
                    r.asset_kind,
                    r.kind_params,
                    members.get(r.group_id) if r.group_id is not None else None,
                )
                for r in rules
            ]
            watch.assets = {a.id: a for a in assets}
            watch.sites = {row[0]: SiteView(*row) for row in sites}
        enabled = {r.id for r in watch.rules}
        gone = {f"asset:{a}" for a in watch.last_seen if a not in watch.assets}
        watch.open = {k for k in watch.open if k[0] in enabled and k[1] not in gone}
        for asset_id in [a for a in watch.last_seen if a not in watch.assets]:
            del watch.last_seen[asset_id]  # deleted assets
            watch.offline_reported.discard(asset_id)
            watch.arrival_lag_ms.pop(asset_id, None)

    async def _load_state(self) -> None:
        """Open alerts and each asset's newest reading time, after a (re)start."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Alert.rule_id, Alert.subject).where(Alert.resolved_at.is_(None))
            )
            self.watch.open = {(int(r[0]), str(r[1])) for r in rows if r[0] is not None}
            seen = await last_seen(session=session, asset_ids=list(self.watch.assets))
        now = now_ms()
        self.watch.anomaly_seen = dict.fromkeys(self.watch.open, now)
        self.watch.last_seen = {a: ts for a, ts in seen.items() if ts is not None}

    # --- evaluation ------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            batch = [await self.queue.get()]
            # a burst (say, 100 assets going offline at once) is applied in one transaction
            while batch[-1][0] in _BATCHED and len(batch) < _MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await finish_then_cancel(self._evaluate_batch(batch))
            except Exception:
                reraise_if_stopping()
                log.exception("alert evaluation of %s failed", ", ".join(k for k, _ in batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _evaluate_batch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        """One unit of the worker: ``batch``, then the readings conflated meanwhile."""
        await self.evaluate_all(batch)
        if self._overflow:
            merged, self._overflow = list(self._overflow.values()), {}
            await self.evaluate("readings", {"assets": merged})

    async def evaluate(self, kind: str, payload: dict[str, Any]) -> None:
        """Evaluate one event (``readings``, ``status``, ``anomaly``, ``forecast``, ``tick``,
        ``reload``) and apply the decisions."""
        await self.evaluate_all([(kind, payload)])

    async def evaluate_all(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Evaluate ``events`` in order and apply their decisions in one transaction.

        Each event sees the open alerts as the decisions of the events before it leave them
        (as if those had been applied one by one); if the transaction fails, the open alerts
        are as before."""
        watch = self.watch
        undo: list[tuple[tuple[int, str], bool]] = []  # (key, was open) per tentative change
        decisions: list[Decision] = []
        try:
            for kind, payload in events:
                found = await self._decide(kind, payload)
                if len(events) > 1:
                    for decision in found:
                        key = (decision.rule_id, decision.subject)
                        undo.append((key, key in watch.open))
                        if isinstance(decision, Raise):
                            watch.open.add(key)
                        else:
                            watch.open.discard(key)
                decisions += found
        finally:
            for key, was_open in reversed(undo):  # ``apply`` settles them after the commit
                if was_open:
                    watch.open.add(key)
                else:
                    watch.open.discard(key)
        if decisions:
            await self.apply(decisions)

    async def _decide(self, kind: str, payload: dict[str, Any]) -> list[Decision]:
        watch, now = self.watch, now_ms()
        if kind == "reload":
            self._reload_queued = False  # changes from now on queue a new one
            await self.reload()
            return []
        if kind == "tick":
            await self.reload()
            return watch.on_tick(now)
        if kind == "readings":
            ids = {e.get("asset_id") for e in payload.get("assets") or []}
            if any(isinstance(a, int) and a not in watch.assets for a in ids):
                await self.reload()  # an asset created since the last reload
            found = watch.on_readings(payload, now)
            sites = watch.balance_sites(payload)
            if sites:
                found += watch.on_balance(await self._balances(sites, now))
            return found
        if kind == "status":
            return watch.on_status(payload, now)
        if kind == "anomaly":
            return watch.on_anomaly(payload, now)
        if kind == "forecast":
            return watch.on_forecast(payload)
        return []

    async def _balances(self, site_ids: list[int], now: int) -> dict[int, SiteNow]:
        """The current balance of ``site_ids``: from the cache, else from the database; none
        when it cannot be read (the batch's asset checks still apply)."""
        max_age = BALANCE_MAX_AGE_MS
        try:
            if self.balance is not None:
                found = await self.balance.balances(site_ids, now_ms=now, max_age_ms=max_age)
            else:
                async with self.sessions() as session:
                    found = await current_balances(
                        session=session, site_ids=site_ids, now_ms=now, max_age_ms=max_age
                    )
        except Exception:
            log.exception("current balance of sites %s not read: site checks skipped", site_ids)
            return {}
        return {
            site_id: SiteNow(site_id, dict(b.power_kw), b.flagged, b.newest_ms)
            for site_id, b in found.items()
        }

    async def apply(self, decisions: list[Decision]) -> None:
        """Raise and resolve alerts in one transaction; publish the events after the commit."""
        events: list[tuple[str, dict[str, Any]]] = []
        final: dict[tuple[int, str], bool] = {}  # key -> open after the decisions, in order
        settings = self.settings
        async with self.sessions() as session, session.begin():
            for decision in decisions:
                key = (decision.rule_id, decision.subject)
                if isinstance(decision, Raise):
                    alert = await raise_alert(
                        session=session,
                        found=decision,
                        flap_window_s=settings.alerts_flap_window_s,
                        flap_max_raises=settings.alerts_flap_max_raises,
                    )
                    final[key] = True
                    if alert is not None:
                        events.append((catalogue.ALERT_RAISED.name, event_payload(alert)))
                elif isinstance(decision, Clear):
                    alert = await resolve_open(
                        session=session,
                        rule_id=decision.rule_id,
                        subject=decision.subject,
                        value=decision.value,
                        reason="cleared",
                    )
                    final[key] = False
                    if alert is not None:
                        events.append((catalogue.ALERT_RESOLVED.name, event_payload(alert)))
        for key, is_open in final.items():
            if is_open:
                self.watch.open.add(key)
            else:
                self.watch.open.discard(key)
                self.watch.anomaly_seen.pop(key, None)
        for topic, payload in events:
            await self.bus.publish(topic, payload)
        if events:
            self.notifier.wake()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alerts_eval_interval_s)
            self.enqueue("tick", {})


ALERTS: Slot[AlertRuntime] = Slot("alerts")


async def start_alerts(app: Any) -> AlertRuntime:
    """Start the alerts runtime of ``app`` (its ``ALERTS`` slot; ``api/lifespan.py``)."""
    shared = runtime_of(app)
    balance = shared.get(BALANCE)  # started before (api/lifespan.py::start_runtime)
    runtime = AlertRuntime(shared.settings, shared.sessions, shared.bus, balance=balance)
    await runtime.start()
    return runtime
