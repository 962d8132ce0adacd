"""Settings: embedded default, PostgreSQL switch, generated secrets, production refusal."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridpilot.core.secrets import jwt_secret, with_secrets
from gridpilot.core.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "MODE", "JWT_SECRET", "DATA_DIR", "AUTO_MIGRATE"):
        monkeypatch.delenv(f"GRIDPILOT_{name}", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_default_is_an_embedded_sqlite_file_in_the_data_dir(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/data/gridpilot.db"
    assert settings.is_sqlite and settings.should_auto_migrate


def test_postgresql_url_switches_driver_and_disables_auto_migrate(monkeypatch):
    monkeypatch.setenv("GRIDPILOT_DATABASE_URL", "postgresql://ems@db.example:5432/gridpilot")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+asyncpg://ems@db.example:5432/gridpilot"
    assert not settings.is_sqlite and not settings.should_auto_migrate


def test_jwt_secret_is_generated_once_and_persisted_privately(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    first = jwt_secret(settings)
    assert len(first) >= 48
    assert jwt_secret(Settings(data_dir=tmp_path)) == first  # a restart keeps tokens valid
    mode = (tmp_path / "jwt-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert with_secrets(settings).jwt_secret.get_secret_value() == first  # type: ignore[union-attr]


def test_configured_secret_wins_over_the_generated_one(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, jwt_secret="k" * 40)
    assert jwt_secret(settings) == "k" * 40
    assert not (tmp_path / "jwt-secret").exists()


@pytest.mark.parametrize("secret", [None, "", "change-me", "short-secret"])
def test_production_refuses_missing_default_or_weak_secret(monkeypatch, secret):
    monkeypatch.setenv("GRIDPILOT_MODE", "production")
    if secret is not None:
        monkeypatch.setenv("GRIDPILOT_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match="GRIDPILOT_JWT_SECRET"):
        Settings()


def test_cli_reports_a_configuration_error_without_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDPILOT_MODE", "production")
    result = subprocess.run(
        [sys.executable, "-m", "gridpilot.cli", "migrate"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "GRIDPILOT_DATA_DIR": str(tmp_path), "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "GRIDPILOT_JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_starts_with_a_strong_secret(monkeypatch):
    monkeypatch.setenv("GRIDPILOT_MODE", "production")
    monkeypatch.setenv("GRIDPILOT_JWT_SECRET", "a" * 16 + "Z" * 16 + "9" * 8)
    assert Settings().mode == "production"
