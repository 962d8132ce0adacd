"""The registry of report kinds: one ``ReportKind`` per kind, with its parameters schema, its
data builder and its renderers (format -> function). A new kind (the DR event report, the
community statements) is one module that calls ``register`` and is listed in ``MODULES``.
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
from gridpilot.reports.render_csv import CONTENT_TYPE as CSV_TYPE
from gridpilot.reports.render_csv import render_csv


@dataclass(frozen=True)
class BuildContext:
    """What a builder gets: the caller's rights, the site, the period [epoch ms], the time."""

    session: AsyncSession
    principal: Principal
    site: Site
    start_ms: int
    end_ms: int
    now_ms: int
    settings: Settings


@dataclass(frozen=True)
class Renderer:
    render: Callable[[Document], bytes]
    content_type: str
    extension: str


Builder = Callable[[BuildContext, Any], Awaitable[Document]]
Checker = Callable[[AsyncSession, Principal, Site, Any], Awaitable[None]]

#: The default renderers of every kind.
RENDERERS: dict[str, Renderer] = {
    "pdf": Renderer(render_pdf, PDF_TYPE, "pdf"),
    "csv": Renderer(render_csv, CSV_TYPE, "csv"),
}


async def _no_check(session: AsyncSession, principal: Principal, site: Site, params: Any) -> None:
    return None


@dataclass(frozen=True)
class ReportKind:
    """A kind of report: ``params`` validates a definition's parameters, ``check`` tests them
    against the database (a baseline of the site, ...), ``build`` makes the ``Document``."""

    name: str
    title: str
    description: str
    params: type[BaseModel]
    build: Builder
    check: Checker = _no_check
    renderers: dict[str, Renderer] = field(default_factory=lambda: dict(RENDERERS))

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
MODULES = ("gridpilot.reports.kinds.site_energy", "gridpilot.reports.kinds.iso50001")


def register(kind: ReportKind) -> ReportKind:
    KINDS[kind.name] = kind
    return kind


def load() -> dict[str, ReportKind]:
    """Every registered kind (imports the kind modules once)."""
    if not KINDS:
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
