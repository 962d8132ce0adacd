"""The manifest written beside every backup file (``<name>.manifest.json``).

It names what the backup holds: gridpilot's version, the back end, the migration head of the
backed-up database, the rows of every table at the instant of the backup, and the SHA-256 and
size of the backup file (checked before a restore).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gridpilot.core.errors import GridpilotError

FORMAT = 1
MANIFEST_SUFFIX = ".manifest.json"
#: Tables whose rows make a database "not empty" for a restore (people's data, not catalogues).
DATA_TABLES = ("users", "sites", "assets", "readings")


class BackupError(GridpilotError):
    """A backup or restore that cannot be done (missing tool, busy, refused): the message says
    why and what to do."""

    code = "backup_failed"


@dataclass(frozen=True)
class Manifest:
    """What a backup file holds. ``created_at``: ISO 8601 UTC; ``row_counts``: table -> rows."""

    gridpilot_version: str
    backend: str  # "sqlite" | "postgresql"
    migration_head: str | None
    created_at: str
    file: str  # the backup file's name, beside the manifest
    size_bytes: int
    sha256: str
    row_counts: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    format: int = FORMAT

    def write(self, directory: Path) -> Path:
        path = directory / (self.file + MANIFEST_SUFFIX)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def for_backup(cls, backup: Path) -> Manifest:
        """The manifest beside ``backup`` (``BackupError`` when missing or unreadable)."""
        path = backup.with_name(backup.name + MANIFEST_SUFFIX)
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except FileNotFoundError:
            raise BackupError(f"no manifest {path.name} beside the backup {backup}") from None
        except (ValueError, TypeError) as exc:
            raise BackupError(f"the manifest {path} is unreadable: {exc}") from exc


def sha256_of(path: Path, chunk_bytes: int = 4 * 1024 * 1024) -> str:
    """Hex SHA-256 of a file, read in ``chunk_bytes`` pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def quote_ident(name: str) -> str:
    """An SQL identifier in double quotes (inner quotes doubled), for SQLite and PostgreSQL."""
    return '"' + name.replace('"', '""') + '"'
