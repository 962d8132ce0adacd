"""``gridpilot secrets status|rotate``: the secrets sealed at rest and their keys.

Keys never appear in the output: only their ids (8 hex digits of their SHA-256).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.cli.users import run_in_transaction
from gridpilot.core import crypto
from gridpilot.core.settings import Settings
from gridpilot.db import secret_rotation
from gridpilot.db.secret_rotation import STATES, ColumnState

app = typer.Typer(no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _print(title: str, states: list[ColumnState]) -> None:
    table = Table(title=title)
    table.add_column("column")
    for state in STATES:
        table.add_column(state, justify="right")
    for s in states:
        table.add_row(f"{s.table}.{s.column}", *(f"{s.counts[k]:,}" for k in STATES))
    out.print(table)


@app.command("status")
def status() -> None:
    """Count the stored secrets per column: under the current key, an older key, plaintext."""
    states = run_in_transaction(secret_rotation.secret_states)
    keyring = crypto.active()
    ids = ", ".join(crypto.key_id(k) for k in keyring.keys)
    _print(f"secrets at rest (keys: {ids}; the first encrypts)", states)


@app.command("rotate")
def rotate(
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key",
            help="First write a fresh key at the head of the key file (the old keys stay "
            "after it). Without it, rotate to the key already first in the configuration.",
        ),
    ] = False,
) -> None:
    """Re-encrypt every stored secret under the current key (plaintext ones included).

    Afterwards `status` shows every value under the current key and the older keys can be
    removed from the configuration.
    """
    if new_key:
        _prepend_key(Settings())

    async def work(session: AsyncSession) -> list[ColumnState]:
        return await secret_rotation.rotate(session)

    done = run_in_transaction(work)
    total = sum(sum(s.counts.values()) for s in done)
    _print(f"re-encrypted {total:,} value(s) under key {crypto.active().current_id}", done)


def _prepend_key(settings: Settings) -> None:
    path = crypto.key_file(settings)
    env_keys = settings.secrets_keys is not None and settings.secrets_keys.get_secret_value()
    if env_keys or path is None:
        err.print(
            "[red]error:[/] keys come from GRIDPILOT_SECRETS_KEYS: put a new key first there "
            f"yourself and run rotate without --new-key; {crypto.KEY_HINT}"
        )
        raise typer.Exit(1)
    old = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    crypto.write_key_file(path, [crypto.new_key_text(), *old])
    err.print(f"new key written first in {path} ({len(old)} older key(s) kept after it)")
