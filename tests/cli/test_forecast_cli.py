"""`gridpilot forecast` on CSV files: output format and clear errors for unusable input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from gridpilot.cli.main import app as cli


def write_csv(path: Path, times: list[str] | pd.Index, values, *, columns=("time", "load")) -> Path:
    pd.DataFrame({columns[0]: list(times), columns[1]: list(values)}).to_csv(path, index=False)
    return path


def hourly(days: int = 21) -> tuple[pd.DatetimeIndex, np.ndarray]:
    index = pd.date_range("2026-03-02", periods=days * 24, freq="h")
    hour = np.asarray(index.hour, dtype="float64")
    values = 40 + 15 * np.sin(2 * np.pi * hour / 24) + 10 * (np.asarray(index.day_of_week) < 5)
    return index, values + np.random.default_rng(0).normal(0, 1.5, len(index))


def run(*args: str):
    return CliRunner().invoke(cli, ["forecast", *args])


def test_writes_the_steps_after_the_last_row_to_a_file(tmp_path: Path) -> None:
    index, values = hourly()
    source = write_csv(tmp_path / "in.csv", index.strftime("%Y-%m-%d %H:%M"), values)
    out = tmp_path / "out.csv"
    result = run("--csv", str(source), "--time-col", "time", "--value-col", "load",
                 "--horizon", "30", "--out", str(out), "--country", "IT")  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["ts", "yhat", "lo80", "hi80", "lo95", "hi95"]
    assert len(table) == 30
    stamps = pd.to_datetime(table["ts"])
    assert stamps.iloc[0] == index[-1] + pd.Timedelta(hours=1)
    assert (stamps.diff().dropna() == pd.Timedelta(hours=1)).all()
    assert (table["lo95"] <= table["lo80"]).all() and (table["hi80"] <= table["hi95"]).all()
    # the profile is learnt: the forecast follows the daily sine
    expected = 40 + 15 * np.sin(2 * np.pi * stamps.dt.hour / 24) + 10 * (stamps.dt.day_of_week < 5)
    assert float(np.mean(np.abs(table["yhat"] - expected))) < 4.0


def test_epoch_seconds_with_offsets_and_stdout(tmp_path: Path) -> None:
    index = pd.date_range("2026-01-01", periods=4 * 24 * 10, freq="15min", tz="UTC")
    values = 5 + np.sin(np.arange(len(index)) * 2 * np.pi / 96)
    source = write_csv(tmp_path / "epoch.csv", index.as_unit("s").asi8, values, columns=("t", "v"))
    result = run("--csv", str(source), "--time-col", "t", "--value-col", "v", "--horizon", "4")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 4 and table["ts"].iloc[0] == "2026-01-11T00:00:00Z"


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    index, values = hourly()
    source = write_csv(tmp_path / "in.csv", index.astype(str), values)
    result = run("--csv", str(source), "--time-col", "time", "--value-col", "kw", "--horizon", "3")
    assert result.exit_code == 2
    assert "no column 'kw'" in result.output and "time, load" in result.output


def test_unparseable_timestamps_are_reported(tmp_path: Path) -> None:
    index, values = hourly()
    times = list(index.astype(str))
    times[7] = "yesterday at noon"
    source = write_csv(tmp_path / "in.csv", times, values)
    result = run(
        "--csv", str(source), "--time-col", "time", "--value-col", "load", "--horizon", "3"
    )
    assert result.exit_code == 2
    assert "unparseable timestamp" in result.output and "yesterday at noon" in result.output


def test_irregular_timestamps_are_reported(tmp_path: Path) -> None:
    index, values = hourly()
    times = list(index)
    times[100] = times[100] + pd.Timedelta(minutes=17)
    source = write_csv(tmp_path / "in.csv", [t.isoformat() for t in times], values)
    result = run(
        "--csv", str(source), "--time-col", "time", "--value-col", "load", "--horizon", "3"
    )
    assert result.exit_code == 2
    assert "irregular timestamps" in result.output


def test_too_little_history_is_reported(tmp_path: Path) -> None:
    index, values = hourly(days=1)
    source = write_csv(tmp_path / "in.csv", index.astype(str), values)
    result = run(
        "--csv", str(source), "--time-col", "time", "--value-col", "load", "--horizon", "3"
    )
    assert result.exit_code == 2
    assert "too little history" in result.output


def test_unsorted_rows_and_duplicates_are_tolerated_and_said(tmp_path: Path) -> None:
    index, values = hourly(days=4)
    frame = pd.DataFrame({"time": index.astype(str), "load": values})
    frame = pd.concat([frame.iloc[50:], frame.iloc[:50], frame.iloc[[10]]])
    source = tmp_path / "messy.csv"
    frame.to_csv(source, index=False)
    result = run(
        "--csv", str(source), "--time-col", "time", "--value-col", "load", "--horizon", "2"
    )
    assert result.exit_code == 0, result.output
    assert "sorted" in result.output and "duplicate" in result.output


def test_a_solar_series_is_bounded_by_capacity_and_night(tmp_path: Path) -> None:
    import pvlib

    index = pd.date_range("2026-06-01", periods=21 * 96, freq="15min", tz="UTC")
    elevation = pvlib.solarposition.get_solarposition(index, 45.46, 9.19)["elevation"]
    days = np.arange(len(index)) // 96
    clouds = np.random.default_rng(3).uniform(0.3, 1.0, 21)[days]
    sine = np.clip(np.sin(np.radians(elevation.to_numpy())), 0, None)
    values = np.minimum(50.0, 65.0 * clouds * sine)  # 50 kW inverters under 65 kWp
    source = write_csv(tmp_path / "pv.csv", index.as_unit("ms").asi8, values, columns=("t", "kw"))
    args = ["--csv", str(source), "--time-col", "t", "--value-col", "kw", "--horizon", "96"]
    plain = run(*args)
    bounded = run(*args, "--max", "50", "--latitude", "45.46", "--longitude", "9.19")
    assert plain.exit_code == 0 and bounded.exit_code == 0, bounded.output
    table = pd.read_csv(io.StringIO(bounded.stdout))
    unbounded = pd.read_csv(io.StringIO(plain.stdout))
    assert table["hi95"].max() <= 50 and table["lo95"].min() >= 0
    stamps = pd.DatetimeIndex(pd.to_datetime(table["ts"], utc=True))
    sun = pvlib.solarposition.get_solarposition(stamps + pd.Timedelta(minutes=15), 45.46, 9.19)
    dark = (stamps.hour < 2) | (stamps.hour >= 21)  # Milan in June: dark 19:45-03:30 UTC
    assert (sun["elevation"].to_numpy()[dark] < 0).all()
    assert unbounded.loc[dark, "hi95"].max() > 1.0  # the raw bands do not know the night
    assert (table.loc[dark, ["yhat", "lo95", "hi95"]].to_numpy() == 0).all()
    lone = run(*args, "--latitude", "45.46")
    assert lone.exit_code == 2 and "go together" in lone.output
