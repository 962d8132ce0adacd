"""The data directory is private: directories 0700, files 0600 (#13)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from gridpilot.api.app import create_app
from gridpilot.core.datadir import private_file, secure_data_dir
from gridpilot.core.settings import Settings
from gridpilot.web.mount import forget_stored_tokens


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secure_data_dir_repairs_what_an_older_version_left_readable(tmp_path: Path):
    data = tmp_path / "data"
    (data / "web").mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    for name in ("gridpilot.db", "gridpilot.db-wal", "jwt-secret", "web/storage-user-1.json"):
        (data / name).write_text("x")
        (data / name).chmod(0o644)
    secure_data_dir(data)
    assert _mode(data) == 0o700 and _mode(data / "web") == 0o700
    assert {_mode(p) for p in data.rglob("*") if p.is_file()} == {0o600}


def test_private_file_creates_owner_only_and_keeps_content(tmp_path: Path):
    path = tmp_path / "new" / "gridpilot.db"
    private_file(path)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    path.write_text("kept")
    path.chmod(0o644)
    private_file(path)
    assert _mode(path) == 0o600 and path.read_text() == "kept"


def test_tokens_an_older_dashboard_stored_are_removed(tmp_path: Path):
    stale = tmp_path / "storage-user-abc.json"
    stale.write_text(json.dumps({"access_token": "eyJ.x.y", "refresh_token": "r" * 43, "dark": 1}))
    plain = tmp_path / "storage-user-def.json"
    plain.write_text(json.dumps({"dark": True}))
    assert forget_stored_tokens(tmp_path) == 1
    assert json.loads(stale.read_text()) == {"dark": 1}
    assert _mode(stale) == 0o600
    assert json.loads(plain.read_text()) == {"dark": True}


async def test_a_new_installation_keeps_its_database_and_secret_private(tmp_path: Path):
    """Under the usual umask (022): the SQLite file, its -wal/-shm and the generated JWT secret."""
    old_umask = os.umask(0o022)
    try:
        data = tmp_path / "data"
        settings = Settings(
            data_dir=data,
            database_url=f"sqlite:///{data}/gridpilot.db",
            web_enabled=False,
            gc_tuning=False,
            log_json=False,
            jwt_secret=None,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/health")).status_code == 200
            names = {p.name for p in data.iterdir()}
            assert {"gridpilot.db", "gridpilot.db-wal", "gridpilot.db-shm", "jwt-secret"} <= names
            assert _mode(data) == 0o700
            assert {p.name: _mode(p) for p in data.iterdir()} == dict.fromkeys(names, 0o600)
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize("entry", ["not-an-address", "10.0.0.0/33"])
def test_trusted_proxies_must_be_addresses_or_networks(entry: str):
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(trusted_proxies=f"127.0.0.1, {entry}")
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8, ::1").trusted_proxies
