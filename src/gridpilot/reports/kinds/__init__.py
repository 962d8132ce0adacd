"""The registry of report kinds: one ``ReportKind`` per kind, with its parameters schema, the
targets it reports on (site, device group, community), its data builder and its renderers
(format -> function). A new kind is one module that calls ``register`` and is listed in
``MODULES``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.reports.document import Document
from gridpilot.reports.pdf import CONTENT_TYPE as PDF_TYPE
from gridpilot.reports.pdf import render_pdf
from gridpilot.reports.periods import SCHEDULES, Period
from gridpilot.reports.render_csv import CONTENT_TYPE as CSV_TYPE
from gridpilot.reports.render_csv import render_csv
from gridpilot.reports.targets import SITE, Target, TargetUnsupported


@dataclass(frozen=True)
class BuildContext:
    """What a builder gets: the caller's rights, the target, the period [epoch ms], the time."""

    session: AsyncSession
    principal: Principal
    target: Target
    start_ms: int
    end_ms: int
    now_ms: int
    settings: Settings

    @property
    def site(self) -> Site:
        """The site of a site report (``TargetUnsupported`` for another target)."""
        return self.target.site


@dataclass(frozen=True)
class PeriodQuery:
    """What a kind's ``period`` hook gets: the caller, the target, the time, and the period
    asked for (None: not given)."""

    session: AsyncSession
    principal: Principal
    target: Target
    now_ms: int
    start_ms: int | None
    end_ms: int | None


@dataclass(frozen=True)
class Renderer:
    render: Callable[[Document], bytes]
    content_type: str
    extension: str


Builder = Callable[[BuildContext, Any], Awaitable[Document]]
Checker = Callable[[AsyncSession, Principal, Target, Any], Awaitable[None]]
#: A kind's own period: the one to report for the asked one (None: the schedule's default);
#: ``PeriodInvalid`` for a period the kind cannot cover.
PeriodHook = Callable[[PeriodQuery, Any], Awaitable[Period | None]]

#: The default renderers of every kind.
RENDERERS: dict[str, Renderer] = {
    "pdf": Renderer(render_pdf, PDF_TYPE, "pdf"),
    "csv": Renderer(render_csv, CSV_TYPE, "csv"),
}


async def _no_check(
    session: AsyncSession, principal: Principal, target: Target, params: Any
) -> None:
    return None


@dataclass(frozen=True)
class ReportKind:
    """A kind of report: ``params`` validates a definition's parameters, ``check`` tests them
    against the database (a baseline of the site, ...), ``build`` makes the ``Document``;
    ``targets`` and ``schedules`` are those it accepts, ``period`` (optional) decides its own
    period (a DR event's window, a community's calendar month)."""

    name: str
    title: str
    description: str
    params: type[BaseModel]
    build: Builder
    check: Checker = _no_check
    renderers: dict[str, Renderer] = field(default_factory=lambda: dict(RENDERERS))
    targets: frozenset[str] = frozenset({SITE})
    schedules: frozenset[str] = frozenset(SCHEDULES)
    period: PeriodHook | None = None
    #: Whether the parameters fix the period themselves (a named DR event): on demand only.
    fixed_period: Callable[[Any], bool] | None = None

    def check_target(self, target_kind: str, schedule: str, params: Any) -> None:
        """``TargetUnsupported`` for a target, ``ValidationFailed`` for a schedule the kind
        (or these parameters) do not report on."""
        if target_kind not in self.targets:
            raise TargetUnsupported(
                f"a {self.name} report is of a {' or a '.join(sorted(self.targets))}, "
                f"not of a {target_kind}"
            )
        if schedule not in self.schedules:
            raise ValidationFailed(
                f"a {self.name} report runs on the schedules {', '.join(sorted(self.schedules))}"
            )
        if schedule != "none" and self.fixed_period is not None and self.fixed_period(params):
            raise ValidationFailed(
                f"these parameters fix the {self.name} report's period: schedule none only"
            )

    def parse(self, params: dict[str, Any]) -> BaseModel:
        """The validated parameters (``ValidationFailed`` with pydantic's reasons)."""
        from pydantic import ValidationError

        try:
            return self.params.model_validate(params)
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValidationFailed(f"bad parameters for {self.name}: {reasons}") from None


KINDS: dict[str, ReportKind] = {}
#: Modules that register kinds (imported by ``load``).
MODULES = (
    "gridpilot.reports.kinds.site_energy",
    "gridpilot.reports.kinds.iso50001",
    "gridpilot.reports.kinds.dr_event",
    "gridpilot.reports.kinds.community_statement",
    "gridpilot.reports.kinds.community_year",
)


def register(kind: ReportKind) -> ReportKind:
    KINDS[kind.name] = kind
    return kind


def load() -> dict[str, ReportKind]:
    """Every registered kind (imports every kind module: one imported on its own before, e.g.
    by a test, must not hide the others)."""
    for name in MODULES:
        import_module(name)
    return KINDS


def get_kind(name: str) -> ReportKind:
    """The kind ``name``; ``ValidationFailed`` (code ``unknown_report_kind``) otherwise."""
    kinds = load()
    if name not in kinds:
        raise UnknownKind(f"unknown report kind {name!r}; known: {', '.join(sorted(kinds))}")
    return kinds[name]


class UnknownKind(ValidationFailed):
    code = "unknown_report_kind"
