"""The typed runtime of one app: what ``api/app.py::create_app`` builds and the lifespan starts,
in one object instead of loose ``app.state`` attributes.

``AppRuntime`` holds the foundation as typed fields (settings, engine, session factory, bus,
metrics) and the runtimes started in ``api/lifespan.py::start_runtime`` (stopped in reverse). What a
package above adds (its background runtime, a per-app cache) sits in a ``Slot`` that the owning
package declares beside its class, so the runtime's fields stay typed without ``core`` importing
the layers above it::

    TELEMETRY: Slot[TelemetryRuntime] = Slot("telemetry")      # telemetry/tasks.py
    runtime_of(app).get(TELEMETRY)                               # TelemetryRuntime | None

``runtime_of(app)`` (``app.state.runtime``) is the one attribute of ``app.state`` the code reads;
``api/lifespan.py`` also puts the foundation and a few runtimes there for the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from gridpilot.core.bus import EventBus
from gridpilot.core.metrics import Metrics
from gridpilot.core.settings import Settings

T = TypeVar("T")


class Stoppable(Protocol):
    """A package's background work for one process (loops, subscriptions, connections)."""

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Slot(Generic[T]):
    """A typed place on the runtime for one value of a package above ``core``; ``name`` is
    unique and names it in errors and docs."""

    name: str


@dataclass(eq=False)
class AppRuntime:
    """Everything one app shares: the foundation, started runtimes, the packages' slots."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    metrics: Metrics
    #: Started in this order by ``api/lifespan.py::start_runtime``, stopped in reverse.
    runtimes: list[Stoppable] = field(default_factory=list)
    _values: dict[str, Any] = field(default_factory=dict, repr=False)

    def get(self, slot: Slot[T]) -> T | None:
        """The value in ``slot``, or None before it is set (a runtime not started)."""
        return cast("T | None", self._values.get(slot.name))

    def require(self, slot: Slot[T]) -> T:
        """The value in ``slot``; ``LookupError`` naming it when it is not set."""
        value = self.get(slot)
        if value is None:
            raise LookupError(f"the app's {slot.name!r} is not set (is the lifespan running?)")
        return value

    def put(self, slot: Slot[T], value: T) -> T:
        """Set ``slot`` (replacing what it held) and return ``value``."""
        self._values[slot.name] = value
        return value

    def get_or_make(self, slot: Slot[T], make: Callable[[], T]) -> T:
        """The value in ``slot``, made by ``make`` and kept on first use (per-app caches)."""
        value = self.get(slot)
        return value if value is not None else self.put(slot, make())

    def started(self, slot: Slot[T], value: T) -> T:
        """Set ``slot`` to a started runtime and stop it with the others (``runtimes``)."""
        self.runtimes.append(cast(Stoppable, value))
        return self.put(slot, value)


def runtime_of(app: Starlette) -> AppRuntime:
    """The runtime ``create_app`` put on ``app`` (``app.state.runtime``)."""
    runtime: AppRuntime = app.state.runtime
    return runtime
