"""CLI start-up benchmark: lazily loaded subcommands against importing them all (issue #21 item 4).

Each case runs ``gridpilot ARGS`` in a fresh interpreter under ``python -X importtime`` twice:

* lazy: ``gridpilot.cli.main:main()`` as the ``gridpilot`` command runs it today;
* eager (the baseline): the same after importing every subcommand's module first, as
  ``gridpilot.cli.main`` did before the registry (``COMMANDS``/``GROUPS``) made them lazy.

Printed per case, median of ``--runs`` (3): wall time of the process (ms), the ``-X importtime``
cumulative time (ms) of ``gridpilot.cli.main`` plus the subcommand modules imported after it
(all of them in the baseline, which the old ``gridpilot.cli.main`` imported itself; the lazy
run imports a command's module with ``importlib``, which ``-X importtime`` does not time itself,
only the imports inside it: those count in the total) and of all imports (ms). Cases:
``--help``, ``version``, ``forecast --help`` and a real ``forecast`` of a 14-day hourly CSV
(24 steps ahead).

    .venv/bin/python bench/cli_startup.py            # about a minute on 2 busy cores
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAZY = "from gridpilot.cli.main import main; main()"
EAGER = (
    "from gridpilot.cli.main import COMMANDS, GROUPS, main\n"
    "for entry in (*COMMANDS.values(), *GROUPS.values()):\n"
    "    __import__(entry.target.partition(':')[0])  # an import statement: -X importtime nests\n"
    "main()\n"
)
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def write_csv(path: Path, days: int = 14) -> None:
    """An hourly load with a daily profile: ``ts,kw`` (ISO-8601 UTC)."""
    lines = ["ts,kw"]
    for hour in range(days * 24):
        day, h = divmod(hour, 24)
        kw = 50 + 20 * math.sin((h - 6) / 24 * 2 * math.pi) + (day % 7) * 0.5
        lines.append(f"2026-01-{1 + day:02d}T{h:02d}:00:00Z,{kw:.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_once(code: str, args: list[str]) -> tuple[float, float, float]:
    """(wall ms, gridpilot.cli ms, all imports ms) of one fresh process: the ``-X importtime``
    cumulative times of the top-level imports, of those named ``gridpilot.cli.*`` and of all."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"gridpilot {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cli_us, total_us = 0, 0
    for line in done.stderr.splitlines():
        found = IMPORT_LINE.match(line)
        if found and not found.group(3):  # top level: its cumulative covers its children
            total_us += int(found.group(2))
            if found.group(4).startswith("gridpilot.cli."):
                cli_us += int(found.group(2))
    return wall, cli_us / 1000, total_us / 1000


def median_of(code: str, args: list[str], runs: int) -> tuple[float, float, float]:
    """Median of each figure over ``runs`` processes."""
    samples = [run_once(code, args) for _ in range(runs)]
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="processes per case (median)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv, out = Path(tmp) / "load.csv", Path(tmp) / "forecast.csv"
        write_csv(csv)
        forecast = ["forecast", "--csv", str(csv), "--time-col", "ts", "--value-col", "kw"]
        cases = {
            "--help": ["--help"],
            "version": ["version"],
            "forecast --help": ["forecast", "--help"],
            "forecast (14 d hourly CSV)": [*forecast, "--horizon", "24", "--out", str(out)],
        }
        print(f"median of {options.runs} runs; ms; eager = every subcommand module imported")
        print(f"{'case':28} {'':5} {'wall':>8} {'cli':>9} {'imports':>9}")
        for name, args in cases.items():
            for label, code in (("lazy", LAZY), ("eager", EAGER)):
                wall, main_ms, total = median_of(code, args, options.runs)
                print(f"{name:28} {label:5} {wall:8.0f} {main_ms:9.0f} {total:9.0f}")


if __name__ == "__main__":
    main()
