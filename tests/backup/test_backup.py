"""Backups and restore (#20) on both back ends: a backup taken while readings are being written
is consistent (its manifest's row counts are exactly what a restore into a fresh database
holds), keeps every reading written before it, and restore refuses what it must."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_admin

from gridpilot.backup import service, tasks
from gridpilot.backup.manifest import MANIFEST_SUFFIX, BackupError, Manifest, sha256_of
from gridpilot.backup.tasks import BACKUPS
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.db.migrate import head_revision
from gridpilot.telemetry.partitions import ensure_partitions

#: Readings start 12 h ago on a whole hour (inside PostgreSQL's existing partitions).
BASE_TS_MS = (int(dt.datetime.now(dt.UTC).timestamp()) // 3600 - 12) * 3_600_000
INITIAL = 20_000


@pytest.fixture
async def fresh_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same back end, never migrated (the restore target)."""
    if backend == "sqlite":
        yield f"sqlite:///{(tmp_path / 'restored.db').as_posix()}"
        return
    name = f"gridpilot_restore_{uuid.uuid4().hex[:10]}"
    admin = await _pg_admin()
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(sessions, client, auth_headers) -> tuple[int, int]:
    """A site, an asset and INITIAL power readings a second apart; (asset id, metric id)."""
    headers = await auth_headers("administrator")
    site = await client.post(
        "/api/v1/sites", json={"name": "Backup", "timezone": "UTC"}, headers=headers
    )
    body = {"site_id": site.json()["id"], "name": "Meter", "kind": "meter"}
    asset = (await client.post("/api/v1/assets", json=body, headers=headers)).json()["id"]
    async with sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":  # daily partitions, made by the writer
            first_day = BASE_TS_MS // 86_400_000 * 86_400_000
            days = [first_day + d * 86_400_000 for d in range(3)]
            await ensure_partitions(await session.connection(), days)
        metric = await session.scalar(text("SELECT id FROM metrics WHERE key = 'power_kw'"))
        rows = [
            {"a": asset, "m": metric, "t": BASE_TS_MS + i * 1000, "v": round(i * 0.25, 2)}
            for i in range(INITIAL)
        ]
        await session.execute(
            text("INSERT INTO readings (asset_id, metric_id, ts, value) VALUES (:a, :m, :t, :v)"),
            rows,
        )
    return asset, metric


async def keep_writing(sessions, asset: int, metric: int, stop: asyncio.Event) -> int:
    """Insert batches of 50 later readings until ``stop``; how many were written."""
    written = 0
    while not stop.is_set():
        rows = [
            {"a": asset, "m": metric, "t": BASE_TS_MS + (INITIAL + written + i) * 1000, "v": 1.5}
            for i in range(50)
        ]
        async with sessions() as session, session.begin():
            await session.execute(
                text("INSERT INTO readings (asset_id, metric_id, ts, value) "
                     "VALUES (:a, :m, :t, :v)"),
                rows,
            )  # fmt: skip
        written += 50
        await asyncio.sleep(0)
    return written


async def readings_of(url: str, backend: str, timestamps: list[int]) -> dict[int, float]:
    """Values of the given reading timestamps, read straight from a database URL."""
    query = "SELECT ts, value FROM readings WHERE ts = ANY($1::bigint[])"
    if backend == "postgresql":
        connection = await asyncpg.connect(url)
        try:
            return {r["ts"]: r["value"] for r in await connection.fetch(query, timestamps)}
        finally:
            await connection.close()
    import sqlite3

    with sqlite3.connect(url.split(":///", 1)[1]) as connection:
        marks = ",".join("?" * len(timestamps))
        rows = connection.execute(
            f"SELECT ts, value FROM readings WHERE ts IN ({marks})", timestamps
        )
        return dict(rows)


async def test_backup_during_writes_restores_into_a_fresh_database(
    app, client, sessions, auth_headers, settings, backend, fresh_url, tmp_path
):
    asset, metric = await seed(sessions, client, auth_headers)
    stop = asyncio.Event()
    writer = asyncio.create_task(keep_writing(sessions, asset, metric, stop))
    await asyncio.sleep(0.2)  # writes are going on
    steps: list[tuple[int, int]] = []
    path, manifest = await service.make_backup(
        settings=settings, to_dir=tmp_path / "backups", progress=lambda d, t: steps.append((d, t))
    )
    await asyncio.sleep(0.2)
    stop.set()
    written = await writer
    assert written > 0 and steps and steps[-1][0] == steps[-1][1]  # progress reached its end
    async with sessions() as session:
        final = await session.scalar(text("SELECT COUNT(*) FROM readings"))
    backed_up = manifest.row_counts["readings"]
    assert INITIAL <= backed_up <= final
    assert manifest.migration_head == head_revision()
    assert manifest.backend == backend and manifest.file == path.name
    assert manifest.row_counts["sites"] == 1 and manifest.row_counts["assets"] == 1
    assert Manifest.for_backup(path) == manifest

    restored_settings = settings.model_copy(update={"database_url": fresh_url})
    _, counts = await service.restore_backup(settings=restored_settings, backup=path)
    assert counts == manifest.row_counts  # exactly the snapshot, table by table
    sample = random.Random(20).sample(range(INITIAL), 200)
    stamps = [BASE_TS_MS + i * 1000 for i in sample]
    expected = {BASE_TS_MS + i * 1000: round(i * 0.25, 2) for i in sample}
    assert await readings_of(fresh_url, backend, stamps) == expected

    # the restored database now holds data: a second restore needs --force
    with pytest.raises(BackupError, match="--force"):
        await service.restore_backup(settings=restored_settings, backup=path)
    _, again = await service.restore_backup(settings=restored_settings, backup=path, force=True)
    assert again == manifest.row_counts


async def test_restore_refuses_newer_corrupt_or_foreign_backups(app, settings, backend, tmp_path):
    path, _ = await service.make_backup(settings=settings, to_dir=tmp_path)
    target = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'x.db'}"})
    manifest_path = path.with_name(path.name + MANIFEST_SUFFIX)
    data = json.loads(manifest_path.read_text())

    if backend == "postgresql":  # a PostgreSQL dump is not for a SQLite database
        with pytest.raises(BackupError, match="is a postgresql backup"):
            await service.restore_backup(settings=target, backup=path)
        target = settings
    manifest_path.write_text(json.dumps(data | {"migration_head": "9999_from_the_future"}))
    with pytest.raises(BackupError, match="newer than this gridpilot"):
        await service.restore_backup(settings=target, backup=path, force=True)
    manifest_path.write_text(json.dumps(data | {"sha256": "0" * 64}))
    with pytest.raises(BackupError, match="SHA-256"):
        await service.restore_backup(settings=target, backup=path, force=True)
    manifest_path.unlink()
    with pytest.raises(BackupError, match="no manifest"):
        await service.restore_backup(settings=target, backup=path, force=True)


async def test_one_backup_at_a_time(app, settings, tmp_path):
    with service.exclusive(tmp_path), pytest.raises(BackupError, match="another backup"):
        await service.make_backup(settings=settings, to_dir=tmp_path)
    path, _ = await service.make_backup(settings=settings, to_dir=tmp_path)  # lock released
    assert path.exists()


def test_retention_deletes_old_backups_but_the_newest(tmp_path):
    now = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)
    names = []
    for days_ago in (45, 31, 29, 1):
        stamp = now - dt.timedelta(days=days_ago)
        name = f"gridpilot-{stamp:%Y%m%dT%H%M%S%fZ}.db"
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / (name + MANIFEST_SUFFIX)).write_text("{}")
        names.append(name)
    (tmp_path / "notes.txt").write_text("not a backup")
    deleted = service.prune(directory=tmp_path, retention_days=30, now=now)
    assert [p.name for p in deleted] == names[:2]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        [*(n for n in names[2:]), *(n + MANIFEST_SUFFIX for n in names[2:]), "notes.txt"]
    )
    # all older than the retention: the newest stays
    assert [p.name for p in service.prune(directory=tmp_path, retention_days=1, now=now)] == [
        names[2]
    ]


async def test_postgresql_backup_names_the_missing_tool(
    app, settings, backend, tmp_path, monkeypatch
):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump on PATH
    with pytest.raises(BackupError, match="`pg_dump` was not found"):
        await service.make_backup(settings=settings, to_dir=tmp_path / "b")


def test_settings_defaults():
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.backup_interval_s == 86_400 and defaults.backup_retention_days == 30


async def test_the_scheduled_round_backs_up_and_prunes(app, settings, tmp_path):
    old = tmp_path / "gridpilot-20200101T000000000000Z.db"
    old.write_bytes(b"old")
    scheduled = settings.model_copy(update={"backup_dir": tmp_path})
    await tasks.scheduled_backup(scheduled)
    (made,) = service.backups_in(tmp_path)
    assert made != old and not old.exists()
    assert Manifest.for_backup(made).sha256 == sha256_of(made)
    # started with the app: daily, the first round a day after start
    job = runtime_of(app).require(BACKUPS)
    assert job.running and job.interval_s == 86_400 and job.first_delay_s == 86_400
