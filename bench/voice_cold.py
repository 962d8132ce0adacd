"""The first voice question of a fresh process, with and without the start-up warm-up.

    flock /tmp/lead/bench.lock .venv/bin/python bench/voice_cold.py [--days 3] [--pairs 5]

Seeds the demo's data (``gridpilot demo``'s, as bench/voice.py) into a temporary SQLite
database (or reuses ``--dir`` from an earlier run), then starts fresh Python processes one after
the other, alternately with ``warm_up_routes`` off (before: what every process did until
``core/warm_up.py``) and on. Each process starts the app in process (its background jobs on),
waits for the voice runtime's warm-up thread (the parser, statsmodels and, when on, the routes),
then asks ``POST /api/v1/voice/utterance`` three questions one after the other (httpx over ASGI):
the first is the cold one. Printed: per process the warm-up thread's time and the three
answers' times [ms]; then the median of each over the pairs, before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from gridpilot.api.app import create_app
from gridpilot.auth.dependencies import token_config
from gridpilot.auth.tokens import encode_access_token
from gridpilot.cli.demo import seed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.voice.tasks import VOICE

SECRET = "bench-secret-" + "x" * 40
QUESTIONS = (
    "how much energy did compressor 1 use in the last hour",
    "how much energy did compressor 2 use in the last hour",
    "what is the current power of compressor 1",
)


def settings_for(root: Path, warm: bool) -> Settings:
    return Settings(database_url=f"sqlite:///{root / 'bench.db'}", data_dir=root,
                    jwt_secret=SECRET, log_json=False, web_enabled=False,
                    auth_rate_limit_per_min=10**6, api_rate_limit_per_min=0,
                    forecast_interval_s=0, warm_up_routes=warm)  # fmt: skip


async def probe(root: Path, warm: bool) -> dict[str, object]:
    """One fresh process: start, wait for the warm-up, ask the questions; times [ms]."""
    settings = settings_for(root, warm)
    app = create_app(settings)
    claims = {"role": "administrator", "name": "admin", "sites": None}
    token = encode_access_token(token_config(settings), "user:1", claims)
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        began = time.perf_counter()
        await runtime_of(app).require(VOICE).warm_up
        warm_up_ms = (time.perf_counter() - began) * 1000
        times = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
            for text in QUESTIONS:
                began = time.perf_counter()
                got = await http.post("/api/v1/voice/utterance", headers=headers,
                                      json={"utterance": text})  # fmt: skip
                times.append((time.perf_counter() - began) * 1000)
                assert got.status_code == 200 and got.json()["intent"], got.text
    return {"warm": warm, "warm_up_thread_ms": warm_up_ms, "answers_ms": times}


def fresh(root: Path, warm: bool) -> dict[str, object]:
    """``probe`` in a new Python process (nothing imported or prepared yet)."""
    argv = [sys.executable, __file__, "--probe", str(root), "--warm" if warm else "--no-warm"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(label: str, runs: list[dict[str, object]]) -> None:
    answers = [r["answers_ms"] for r in runs]
    first, second, third = (statistics.median(a[i] for a in answers) for i in range(3))  # type: ignore[index]
    thread = statistics.median(r["warm_up_thread_ms"] for r in runs)  # type: ignore[misc]
    print(f"{label}: first (cold) {first:.1f} ms, second {second:.1f} ms, third {third:.1f} ms"
          f" (medians of {len(runs)}); warm-up thread {thread:.0f} ms")  # fmt: skip


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--days", type=float, default=3.0)
    args.add_argument("--pairs", type=int, default=5)
    args.add_argument("--dir", type=Path, default=None, help="reuse this seeded directory")
    args.add_argument("--probe", type=Path, default=None, help=argparse.SUPPRESS)
    args.add_argument("--warm", action=argparse.BooleanOptionalAction, default=True)
    parsed = args.parse_args()
    if parsed.probe is not None:
        print(json.dumps(asyncio.run(probe(parsed.probe, parsed.warm))))
        return
    root = parsed.dir or Path(tempfile.mkdtemp(prefix="gridpilot-voice-cold-"))
    if parsed.dir is None:
        began = time.monotonic()
        _, stored, assets, *_ = asyncio.run(
            seed(settings_for(root, True), days=parsed.days, step_ms=900_000)
        )
        print(f"demo data in {root}: {assets} assets, {stored} readings, {parsed.days} days "
              f"({time.monotonic() - began:.0f} s)")  # fmt: skip
    runs: dict[bool, list[dict[str, object]]] = {False: [], True: []}
    for _ in range(parsed.pairs):
        for warm in (False, True):
            got = fresh(root, warm)
            runs[warm].append(got)
            print(json.dumps(got))
    summary("before (warm_up_routes off)", runs[False])
    summary("after  (warm_up_routes on) ", runs[True])


if __name__ == "__main__":
    main()
