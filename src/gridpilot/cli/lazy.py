"""Subcommands imported only when they run: ``gridpilot forecast`` does not import SQLAlchemy.

The CLI's commands live in modules with heavy imports (pandas, statsmodels, SQLAlchemy,
FastAPI). Importing them all to list them made every ``gridpilot`` call pay ~2 s of imports.
Instead :data:`gridpilot.cli.main.COMMANDS` maps each name to a ``"module:attribute"`` target
(a function: a command; a ``typer.Typer``: a group) and the short help ``gridpilot --help``
shows. :class:`LazyGroup` (click's "Lazily Loading Subcommands" recipe on Typer's group class)
lists them from that registry and imports a target only when click resolves its name: to run
it, to show its own ``--help``, or for shell completion.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main

try:  # a Typer that vendors click (0.28 does): its groups take these classes
    from typer import _click as click
except ImportError:  # pragma: no cover - an older Typer builds on click itself
    import click  # type: ignore[no-redef]
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A subcommand not imported yet.

    ``target``: ``"module:attribute"``, a command function or a ``typer.Typer`` group.
    ``help``: its line in ``gridpilot --help``, also its own help, unless ``docstring``: then
    the function's docstring is its help and ``help`` must be the docstring's first paragraph.
    """

    target: str
    help: str
    docstring: bool = False

    def load(self) -> Any:
        """The target object (imports its module)."""
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def command(self, name: str) -> click.Command:
        """The click command or group, exactly as ``add_typer``/``command`` would build it."""
        target = self.load()
        wrapper = typer.Typer()
        if isinstance(target, typer.Typer):
            wrapper.add_typer(target, name=name, help=self.help)
        else:
            wrapper.command(name, help=None if self.docstring else self.help)(target)
        return typer.main.get_group(wrapper).commands[name]


class Placeholder(TyperCommand):
    """What ``--help`` lists for a subcommand whose module is not imported yet."""

    def __init__(self, name: str, entry: Lazy) -> None:
        super().__init__(name, short_help=entry.help, help=entry.help)
        self.entry = entry


class LazyGroup(TyperGroup):
    """A Typer group that also holds the :attr:`lazy` subcommands, imported on first use.

    Subclass it with ``lazy_commands`` and ``lazy_groups`` (names -> :class:`Lazy`) and pass the
    subclass as ``typer.Typer(cls=...)``. Listed in Typer's order: commands before groups, the
    lazy commands before those defined on the app itself.
    """

    lazy_commands: ClassVar[Mapping[str, Lazy]] = {}
    lazy_groups: ClassVar[Mapping[str, Lazy]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = dict(self.commands)
        self.commands.clear()
        self.commands.update((n, Placeholder(n, e)) for n, e in self.lazy_commands.items())
        self.commands.update(own)
        self.commands.update((n, Placeholder(n, e)) for n, e in self.lazy_groups.items())
        self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, imported now unless only its line of ``--help`` is wanted."""
        command = self.commands.get(cmd_name)
        if isinstance(command, Placeholder) and not self._listing:
            command = self.commands[cmd_name] = command.entry.command(cmd_name)
        return command

    @contextmanager
    def listing(self) -> Iterator[None]:
        """Within: :meth:`get_command` answers placeholders (name and short help only)."""
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """``--help`` of the group: lists every subcommand without importing it."""
        with self.listing():
            super().format_help(ctx, formatter)
