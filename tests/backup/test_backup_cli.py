"""``gridpilot backup`` / ``gridpilot restore`` as a user runs them (SQLite, subprocesses)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_JWT_SECRET

CLI = [sys.executable, "-m", "gridpilot.cli"]


def run(args: list[str], data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPILOT_")}
    env |= {"GRIDPILOT_DATA_DIR": str(data_dir), "GRIDPILOT_JWT_SECRET": TEST_JWT_SECRET}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_backup_then_restore_into_a_new_data_dir(tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    assert run(["migrate"], source).returncode == 0
    create = ["user", "create", "ann", "--role", "viewer", "--password-stdin"]
    made = run(create, source, "a long enough passphrase 42\n")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(source / "gridpilot.db") as db:
        users = db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    assert users == 1
    done = run(["backup", "--to", str(tmp_path / "backups")], source)
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stderr
    (backup,) = (tmp_path / "backups").glob("gridpilot-*.db")
    restored = run(["restore", str(backup)], target)
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stderr
    with sqlite3.connect(target / "gridpilot.db") as db:
        assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == users
    refused = run(["restore", str(backup)], target)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert run(["restore", str(backup), "--force"], target).returncode == 0


def test_help_texts_name_what_the_commands_do(tmp_path):
    backup = run(["backup", "--help"], tmp_path).stdout
    assert "online backup" in backup and "manifest" in backup and "--to" in backup
    restore = run(["restore", "--help"], tmp_path).stdout
    assert "--force" in restore and "newer" in restore
    serve = run(["serve", "--help"], tmp_path).stdout
    assert "--tls-cert" in serve and "--tls-key" in serve and "TLS 1.3" in serve
