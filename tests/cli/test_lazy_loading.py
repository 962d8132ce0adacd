"""``gridpilot`` imports a subcommand's module only when that subcommand runs (cli/lazy.py)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from gridpilot.cli.lazy import LazyGroup
from gridpilot.cli.main import COMMANDS, GROUPS, app

HEAVY = ["pandas", "numpy", "statsmodels", "sqlalchemy", "fastapi", "nicegui", "sklearn"]
HEAVY += ["pvlib", "highspy", "uvicorn"]
PROBE = """
import json, sys
from typer.testing import CliRunner
from gridpilot.cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
heavy = set(json.loads(sys.stdin.read()))
loaded = sorted({m.split(".")[0] for m in sys.modules} & heavy)
print(json.dumps({"exit": result.exit_code, "output": result.output, "heavy": loaded}))
"""


def run_fresh(*args: str) -> dict[str, Any]:
    """``gridpilot ARGS`` in a new interpreter: exit code, output, heavy packages imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("args", [["--help"], ["version"], ["forecast", "--help"]])
def test_light_commands_import_no_heavy_package(args: list[str]) -> None:
    result = run_fresh(*args)
    assert result["exit"] == 0, result["output"]
    assert result["heavy"] == []


def test_the_probe_sees_a_command_that_needs_the_database() -> None:
    result = run_fresh("user", "--help")  # users.py imports SQLAlchemy: the probe must say so
    assert result["exit"] == 0, result["output"]
    assert "sqlalchemy" in result["heavy"]
    assert "export-data" in result["output"]  # privacy's commands joined the group


def test_forecast_help_is_the_real_command() -> None:
    result = run_fresh("forecast", "--help")
    assert "--horizon" in result["output"]
    assert "--latitude" in result["output"]


def listed(output: str) -> list[str]:
    """Names in the Commands panel of a ``--help``, in order."""
    return re.findall(r"^│ ([a-z][a-z-]*) ", output, flags=re.MULTILINE)


def test_help_lists_every_registered_command_then_the_groups() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    names = listed(result.output)
    own = [n for n in names if n not in COMMANDS and n not in GROUPS]
    assert names == [*COMMANDS, *own, *GROUPS]
    assert {"version", "serve", "migrate", "graphql-schema"} <= set(own)


def test_help_is_the_same_as_with_every_command_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = CliRunner().invoke(app, ["--help"]).output
    monkeypatch.setattr(LazyGroup, "listing", lambda self: contextlib.nullcontext())
    eager = CliRunner().invoke(app, ["--help"]).output  # every command built from its module
    assert lazy == eager


def test_a_misspelt_command_still_gets_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["forcast"])
    assert result.exit_code == 2
    assert "Did you mean 'forecast'?" in result.output
