"""The peak-shaving benchmark does not rot: one tiny run of the script on SQLite (marked slow;
no timing is asserted, only that every reading was measured)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "peak_shaving.py"


@pytest.mark.slow
def test_a_tiny_run_measures_every_reading():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--readings", "4", "--gap-ms", "20", "--skip-postgres"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reading -> command" in done.stdout and "n=4" in done.stdout, done.stdout
