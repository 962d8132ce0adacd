"""Backup and restore of a 10-million-reading database: the figures behind RPO and RTO (#20).

For each back end (SQLite always; PostgreSQL with ``--pg``), in one run:

1. build a migrated database with ``--readings`` power readings (100 assets, one a second);
2. baseline: copy the idle database file with ``shutil.copyfile`` (SQLite; the disk's speed);
3. ``gridpilot.backup.service.make_backup`` while idle: time, size;
4. the same while a writer process inserts batches of 500 readings at ``--write-rate``
   readings/s (10,000; ingest going on): the backup's time, the writer's rows/s before and
   during the backup, its slowest commit during the backup;
5. ``restore_backup`` into a fresh database: time (the bulk of RTO), and the restored row
   counts compared with the manifest.

No figure is asserted. Run it alone on the machine:

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/backup.py [--pg] [--readings N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import asyncpg

from gridpilot.api.app import create_app
from gridpilot.backup import service
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import upgrade
from gridpilot.telemetry.partitions import ensure_partitions

ASSETS = 100
BASE_TS_MS = (int(time.time()) // 86_400 - 3) * 86_400_000  # 3 days ago, midnight UTC
JWT = "bench-" + "x" * 40

#: The writer of step 4, run as its own process: inserts batches of 500 readings at a set rate
#: (ingest going on), prints "start_s end_s rows max_commit_ms" every half second.
WRITER = textwrap.dedent(
    """
    import sys, time, sqlite3
    backend, target, metric, start_ts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if backend == "sqlite":
        db = sqlite3.connect(target, timeout=60)
        db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
        def write(rows):
            db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", rows); db.commit()
    else:
        import asyncio, asyncpg
        loop = asyncio.new_event_loop()
        pg = loop.run_until_complete(asyncpg.connect(target))
        def write(rows):
            loop.run_until_complete(pg.executemany(
                "INSERT INTO readings VALUES ($1, $2, $3, $4)", rows))
    pause = 500 / float(sys.argv[5])
    ts, window, rows_in_window, slowest = start_ts, time.time(), 0, 0.0
    while True:
        rows = [(101, metric, ts + i, 1.0) for i in range(500)]
        t0 = time.perf_counter(); write(rows); took = time.perf_counter() - t0
        slowest = max(slowest, took)
        ts += 500; rows_in_window += 500
        time.sleep(max(0.0, pause - took))
        now = time.time()
        if now - window >= 0.5:
            print(f"{window:.3f} {now:.3f} {rows_in_window} {slowest * 1000:.1f}", flush=True)
            window, rows_in_window, slowest = now, 0, 0.0
    """
)


def rows(readings: int, metric: int, offset: int = 0):
    per_asset = readings // ASSETS
    for asset in range(1, ASSETS + 1):
        for i in range(per_asset):
            yield (asset, metric, BASE_TS_MS + (offset + i) * 1000, float(i % 1000))


async def migrate(url: str, data_dir: Path) -> Settings:
    """A migrated database with the metric catalogue (seeded by one start of the app)."""
    settings = Settings(
        database_url=url, data_dir=data_dir, jwt_secret=JWT, web_enabled=False, gc_tuning=False
    )
    engine = make_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    return settings


def build_sqlite(path: Path, readings: int) -> int:
    with sqlite3.connect(path) as db:
        metric = db.execute("SELECT id FROM metrics WHERE key = 'power_kw'").fetchone()[0]
        db.execute("PRAGMA synchronous=OFF")
        db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", rows(readings, metric))
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(metric)


async def build_postgres(url: str, readings: int) -> int:
    engine = make_engine(Settings(database_url=url, jwt_secret=JWT))
    async with engine.begin() as connection:
        days = [BASE_TS_MS + d * 86_400_000 for d in range(4)]
        await ensure_partitions(connection, days)
    await engine.dispose()
    pg = await asyncpg.connect(url)
    try:
        metric = await pg.fetchval("SELECT id FROM metrics WHERE key = 'power_kw'")
        batch: list[tuple[int, int, int, float]] = []
        for row in rows(readings, metric):
            batch.append(row)
            if len(batch) == 500_000:
                await pg.copy_records_to_table("readings", records=batch)
                batch = []
        if batch:
            await pg.copy_records_to_table("readings", records=batch)
        await pg.execute("ANALYZE readings")
    finally:
        await pg.close()
    return int(metric)


def writer_stats(lines: list[str], since: float, until: float) -> tuple[float, float]:
    """Rows/s and the slowest commit [ms] of the writer's windows inside [since, until]."""
    inside = [line.split() for line in lines]
    inside = [w for w in inside if float(w[0]) >= since and float(w[1]) <= until]
    if not inside:
        return 0.0, 0.0
    seconds = sum(float(w[1]) - float(w[0]) for w in inside)
    return sum(int(w[2]) for w in inside) / seconds, max(float(w[3]) for w in inside)


WRITE_RATE = 10_000


async def measure(settings: Settings, target: str, backend: str, metric: int, fresh: str) -> None:
    out = Path(tempfile.mkdtemp(prefix="gridpilot-bench-backups-"))
    try:
        started = time.perf_counter()
        path, manifest = await service.make_backup(settings=settings, to_dir=out)
        idle_s = time.perf_counter() - started
        print(f"  backup, idle:          {idle_s:7.1f} s  ({manifest.size_bytes / 2**20:,.0f} MiB)")
        path.unlink()
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, backend, target, str(metric), str(BASE_TS_MS),
             str(WRITE_RATE)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        await asyncio.sleep(3)
        since = time.time()
        started = time.perf_counter()
        path, manifest = await service.make_backup(settings=settings, to_dir=out)
        busy_s = time.perf_counter() - started
        until = time.time()
        await asyncio.sleep(2)
        writer.terminate()
        lines = (writer.communicate()[0] or "").splitlines()
        before, _ = writer_stats(lines, 0, since)
        during, slowest = writer_stats(lines, since, until)
        print(
            f"  backup, under writes:  {busy_s:7.1f} s  (writer {before:,.0f} rows/s before, "
            f"{during:,.0f} rows/s during, slowest commit during {slowest:.0f} ms)"
        )
        restored = settings.model_copy(update={"database_url": fresh})
        started = time.perf_counter()
        _, counts = await service.restore_backup(settings=restored, backup=path, force=True)
        restore_s = time.perf_counter() - started
        same = counts == manifest.row_counts
        print(
            f"  restore:               {restore_s:7.1f} s  (rows per table as in the manifest: "
            f"{same}; readings {counts.get('readings', 0):,})"
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


async def bench_sqlite(readings: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gridpilot-bench-") as tmp:
        db = Path(tmp) / "gridpilot.db"
        settings = await migrate(f"sqlite:///{db}", Path(tmp))
        started = time.perf_counter()
        metric = build_sqlite(db, readings)
        print(
            f"SQLite, {readings:,} readings ({db.stat().st_size / 2**20:,.0f} MiB), "
            f"built in {time.perf_counter() - started:.0f} s"
        )
        started = time.perf_counter()
        shutil.copyfile(db, Path(tmp) / "copy.db")
        print(f"  baseline file copy:    {time.perf_counter() - started:7.1f} s")
        (Path(tmp) / "copy.db").unlink()
        await measure(settings, str(db), "sqlite", metric, f"sqlite:///{Path(tmp) / 'restored.db'}")


async def bench_postgres(readings: int, host: str) -> None:
    names = [f"gridpilot_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    admin = await asyncpg.connect(host=host, user="postgres", database="postgres")
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        url, fresh = (f"postgresql://postgres@{host}:5432/{name}" for name in names)
        with tempfile.TemporaryDirectory(prefix="gridpilot-bench-") as tmp:
            settings = await migrate(url, Path(tmp))
            started = time.perf_counter()
            metric = await build_postgres(url, readings)
            pg = await asyncpg.connect(url)
            size = await pg.fetchval("SELECT pg_database_size(current_database())")
            await pg.close()
            print(
                f"PostgreSQL, {readings:,} readings ({size / 2**20:,.0f} MiB database), "
                f"built in {time.perf_counter() - started:.0f} s"
            )
            await measure(settings, url, "postgresql", metric, fresh)
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL too")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--write-rate", type=int, default=WRITE_RATE, help="readings/s")
    args = parser.parse_args()
    globals()["WRITE_RATE"] = args.write_rate
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    if not args.skip_sqlite:
        asyncio.run(bench_sqlite(args.readings))
    if args.pg:
        asyncio.run(bench_postgres(args.readings, args.pg_host))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
