"""Settings: embedded default, PostgreSQL switch, generated secrets, production refusal."""

from __future__ import annotations

import base64
import os
import secrets
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


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "not set"),
        ("", "not set"),
        ("change-me", "9 characters"),
        ("changeme-changeme-changeme-changeme", "placeholder word 'changeme'"),
        ("Change_Me_Please_0123456789_abcdefghij", "placeholder word 'changeme'"),
        ("my-production-jwt-SECRET-2026-0123456789", "placeholder word 'secret'"),
        ("Kx9#Kx9#Kx9#Kx9#Kx9#Kx9#Kx9#Kx9#Kx9#", "repeats the same 4-character pattern"),
        ("a" * 16 + "Z" * 16 + "9" * 8, "low in entropy"),
        ("abcdefghijklmnopqrstuvwxyz012345", "runs of equal or consecutive characters"),
    ],
)
def test_production_refuses_missing_placeholder_or_weak_secrets(monkeypatch, secret, reason):
    monkeypatch.setenv("GRIDPILOT_MODE", "production")
    if secret is not None:
        monkeypatch.setenv("GRIDPILOT_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match="GRIDPILOT_JWT_SECRET") as refused:
        Settings()
    message = str(refused.value)
    assert reason in message and "secrets.token_urlsafe(48)" in message, message


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


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_urlsafe(48),
        lambda: secrets.token_urlsafe(24),  # 32 characters
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(secrets.token_bytes(48)).decode(),
    ],
)
def test_production_starts_with_a_random_secret(monkeypatch, make):
    monkeypatch.setenv("GRIDPILOT_MODE", "production")
    for _ in range(200):  # no false refusal of generated secrets
        monkeypatch.setenv("GRIDPILOT_JWT_SECRET", make())
        assert Settings().mode == "production"
