"""Benchmark harness: a throw-away database, a real `gridpilot serve` process and a credential.

Everything goes through gridpilot's public surface: the CLI (`migrate`, `user create`, `serve`),
the token endpoint and the REST API. Only the database is created and dropped directly.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

CLI = [sys.executable, "-c", "from gridpilot.cli.main import app; app()"]
PASSWORD = "bench-" + secrets.token_urlsafe(16)


@dataclass
class PgServer:
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self.host, port=self.port, user=self.user, database="postgres"
        )

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


@contextlib.asynccontextmanager
async def fresh_pg_database(pg: PgServer) -> AsyncIterator[str]:
    """Create ``gridpilot_bench_<hex>``; drop it (with its connections) afterwards."""
    name = f"gridpilot_bench_{uuid.uuid4().hex[:10]}"
    admin = await pg.admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One running ``gridpilot serve`` (uvicorn) with its environment and log file."""

    base_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)

    def server_pids(self) -> list[int]:
        """The server process and its uvicorn workers."""
        pids = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    pids.append(int(stat.parent.name))
        return pids


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    result = subprocess.run(
        CLI + args, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"gridpilot {' '.join(args)} failed:\n{result.stderr[-3000:]}")


@contextlib.contextmanager
def gridpilot_server(
    database_url: str | None, *, workers: int = 1, rollup_interval_s: float | None = None
) -> Iterator[ServerProcess]:
    """Migrate, create an operator user, serve on a free port; stop the server afterwards.

    ``database_url`` None means the embedded SQLite default inside a temporary data directory;
    ``rollup_interval_s`` None keeps gridpilot's default rollup refresh interval.
    """
    with tempfile.TemporaryDirectory(prefix="gridpilot-bench-") as data_dir:
        port = free_port()
        env = os.environ | {
            "GRIDPILOT_DATA_DIR": data_dir,
            "GRIDPILOT_JWT_SECRET": secrets.token_urlsafe(48),
            "GRIDPILOT_LOG_LEVEL": "INFO",
            "GRIDPILOT_LOG_JSON": "true",
            "GRIDPILOT_API_RATE_LIMIT_PER_MIN": "0",  # a load generator is one client
        }
        if rollup_interval_s is not None:
            env["GRIDPILOT_ROLLUP_INTERVAL_S"] = str(rollup_interval_s)
        if database_url:
            env["GRIDPILOT_DATABASE_URL"] = database_url
        else:
            env.pop("GRIDPILOT_DATABASE_URL", None)
        run_cli(["migrate"], env)
        user_create = ["user", "create", "bench", "--role", "operator", "--password-stdin"]
        run_cli(user_create, env, PASSWORD)
        log_path = Path(data_dir) / "server.log"
        with log_path.open("wb") as log:
            command = [*CLI, "serve", "--port", str(port), "--workers", str(workers)]
            process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        server = ServerProcess(f"http://127.0.0.1:{port}", env, log_path, process)
        try:
            wait_healthy(server)
            server.headers = {"Authorization": f"Bearer {password_token(server.base_url)}"}
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(server: ServerProcess, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    log_tail = server.log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the server did not become healthy; log tail:\n{log_tail}")


def password_token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"grant_type": "password", "username": "bench", "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def create_site_and_assets(
    server: ServerProcess, count: int, rated_kw: float | None = None
) -> list[int]:
    """One site, ``count`` meters (rated ``rated_kw`` kW: ingest then checks each reading
    against 1.5 x that); their ids."""
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30) as http:
        site = http.post("/api/v1/sites", json={"name": "Bench site", "timezone": "UTC"})
        site.raise_for_status()
        site_id = site.json()["id"]
        ids = []
        for n in range(count):
            asset = http.post(
                "/api/v1/assets",
                json={
                    "site_id": site_id,
                    "name": f"Meter {n:04d}",
                    "kind": "meter",
                    "rated_capacity_kw": rated_kw,
                },
            )
            asset.raise_for_status()
            ids.append(int(asset.json()["id"]))
        return ids


async def pending_rollups(database_url: str | None, data_dir: str) -> int:
    """Series still waiting in ``rollup_pending`` (0 when the rollups are up to date)."""
    if database_url:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM rollup_pending"))
        finally:
            await conn.close()
    with contextlib.closing(sqlite3.connect(Path(data_dir) / "gridpilot.db")) as conn:
        return int(conn.execute("SELECT count(*) FROM rollup_pending").fetchone()[0])


async def metric_id(database_url: str, key: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT id FROM metrics WHERE key = $1", key))
    finally:
        await conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU seconds used so far by ``pids`` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds([pid]) for pid in pids}


def database_backend_pids(database: str) -> list[int]:
    """PostgreSQL backends serving ``database`` (their process title names it)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            title = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(cmdline.parent.name))
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
