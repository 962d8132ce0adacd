"""The data directory is private: directories 0700, files 0600 (owner only).

It holds the embedded database (with its ``-wal``/``-shm``), the generated JWT secret and the
dashboard's per-browser storage. ``private_umask`` makes every file a server process creates
later owner-only too; ``secure_data_dir`` repairs what an older version left readable.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
#: umask of server processes: no permission for group and others on anything they create.
PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Set this process's umask to ``PRIVATE_UMASK``; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def restrict(path: Path, mode: int) -> None:
    """Take off ``path`` the permissions ``mode`` lacks (if this user owns it; links skipped)."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return  # never follow links, never touch what another user owns
    if stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


def secure_data_dir(data_dir: Path) -> None:
    """Create ``data_dir`` (0700) if missing; take group and other permissions off it and off
    everything in it (recursively) that this user owns. Errors are logged, never raised."""
    try:
        data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        restrict(data_dir, DIR_MODE)
        for root, dirs, files in os.walk(data_dir):
            for name in dirs:
                restrict(Path(root) / name, DIR_MODE)
            for name in files:
                restrict(Path(root) / name, FILE_MODE)
    except OSError as exc:
        log.warning("could not make the data directory %s private: %s", data_dir, exc)


def private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only if missing (its folder 0700), else restrict it to
    0600: SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    restrict(path, FILE_MODE)
