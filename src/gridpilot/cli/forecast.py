"""``gridpilot forecast --csv FILE --time-col T --value-col V --horizon N``: forecast any CSV.

Reads one time column and one value column, infers the step (1 min .. 1 day) from the
timestamps, and writes CSV ``ts,yhat,lo80,hi80,lo95,hi95`` for the ``N`` steps after the last
row to stdout or ``--out``, optionally bounded (``--min``, ``--max``; ``--latitude`` and
``--longitude``: solar generation, never below 0 and 0 while the sun is down). No database is
involved. Exit code 2 for unusable input (missing column, unparseable or irregular timestamps,
too little history), with the reason on stderr.

Timestamps: ISO-8601 (with or without offset) or epoch seconds/milliseconds. Naive times are
taken as wall-clock time (the calendar reads them as they are); times with an offset are read
in ``--timezone`` (default UTC) and written back with their offset. Unsorted rows are sorted
and exact duplicate timestamps averaged (both reported on stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.console import Console

from gridpilot.core.errors import GridpilotError

if TYPE_CHECKING:
    import pandas as pd

    from gridpilot.analytics.forecast import Forecast

console = Console(stderr=True)
OUTPUT_COLUMNS = ("ts", "yhat", "lo80", "hi80", "lo95", "hi95")


class InputError(Exception):
    """The CSV cannot be forecast (message for the user)."""


def parse_times(column: pd.Series, timezone: str | None) -> pd.DatetimeIndex:
    """Timestamps of ``column``: ISO-8601 strings or epoch seconds/milliseconds."""
    import numpy as np
    import pandas as pd

    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0]) + 2
        raise InputError(f"empty timestamp on line {row}")
    if pd.api.types.is_numeric_dtype(column):
        unit: Literal["ms", "s"] = "ms" if float(column.abs().max()) >= 1e10 else "s"
        index = pd.DatetimeIndex(pd.to_datetime(column.to_numpy(), unit=unit, utc=True))
    else:
        text = column.astype(str).str.strip()
        try:
            index = pd.DatetimeIndex(pd.to_datetime(text, format="ISO8601"))
        except (ValueError, TypeError):
            try:
                index = pd.DatetimeIndex(pd.to_datetime(text, format="ISO8601", utc=True))
            except (ValueError, TypeError) as exc:
                bad = _first_unparseable(text)
                raise InputError(f"unparseable timestamp {bad!r}: {exc}") from None
    if index.tz is not None and timezone:
        index = index.tz_convert(timezone)
    return index


def _first_unparseable(text: pd.Series) -> str:
    import pandas as pd

    for value in text:
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            return str(value)
    return str(text.iloc[0])


def read_series(path: Path, time_col: str, value_col: str, timezone: str | None) -> pd.Series:
    """The value column of ``path`` indexed by its parsed, sorted, de-duplicated times."""
    import pandas as pd

    try:
        table = pd.read_csv(path, usecols=lambda c: c in (time_col, value_col))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    for col in (time_col, value_col):
        if col not in table.columns:
            header = pd.read_csv(path, nrows=0).columns.tolist()
            raise InputError(f"no column {col!r} in {path} (columns: {', '.join(header)})")
    values = pd.to_numeric(table[value_col], errors="coerce")
    if values.notna().sum() == 0:
        raise InputError(f"column {value_col!r} has no numeric values")
    unreadable = int((values.isna() & table[value_col].notna()).sum())
    if unreadable:
        console.print(f"note: {unreadable} non-numeric values in {value_col!r} taken as missing")
    series = pd.Series(
        values.to_numpy(dtype="float64"), index=parse_times(table[time_col], timezone)
    )
    if not series.index.is_monotonic_increasing:
        console.print("note: rows were not in time order; sorted")
        series = series.sort_index(kind="stable")
    if series.index.has_duplicates:
        count = int(series.index.duplicated().sum())
        console.print(f"note: {count} duplicate timestamps; their values were averaged")
        series = series.groupby(level=0).mean()
    return series


def format_times(index: pd.DatetimeIndex) -> list[str]:
    """ISO-8601: naive stays naive, aware times keep their offset (``Z`` for UTC)."""
    if index.tz is None:
        return [t.isoformat() for t in index]
    return [t.isoformat().replace("+00:00", "Z") for t in index]


def bounded(
    result: Forecast,
    minimum: float | None,
    maximum: float | None,
    latitude: float | None,
    longitude: float | None,
    timezone: str | None,
) -> Forecast:
    """``result`` clipped into ``[minimum, maximum]``; solar (``latitude``/``longitude`` given):
    at least 0 (unless ``minimum``) and 0 while the sun is below the horizon there (naive times
    are read in ``timezone``, default UTC)."""
    import numpy as np

    from gridpilot.analytics.forecast_bounds import bound_forecast, solar_night

    upper = np.full(len(result.index), np.inf if maximum is None else maximum)
    lower = -np.inf if minimum is None else minimum
    if latitude is not None and longitude is not None:
        index = result.index
        if index.tz is None:
            index = index.tz_localize(
                timezone or "UTC", ambiguous="NaT", nonexistent="shift_forward"
            )
        upper[solar_night(index, result.step_ms, latitude, longitude)] = 0.0
        lower = 0.0 if minimum is None else minimum
    if minimum is None and maximum is None and latitude is None:
        return result
    return bound_forecast(result, lower, np.maximum(upper, lower))


def forecast(
    csv: Path = typer.Option(..., "--csv", help="Input CSV file.", exists=False),
    time_col: str = typer.Option(..., "--time-col", help="Name of the timestamp column."),
    value_col: str = typer.Option(..., "--value-col", help="Name of the value column."),
    horizon: int = typer.Option(
        ..., "--horizon", min=1, help="Steps to forecast after the last row."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the CSV here instead of stdout."),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA zone for the calendar of offset-aware times (default UTC)."
    ),
    country: str | None = typer.Option(
        None, "--country", help="ISO country code for public holidays (e.g. IT, DE, US)."
    ),
    minimum: float | None = typer.Option(
        None, "--min", help="Lowest possible value (e.g. 0): point and bands are clipped to it."
    ),
    maximum: float | None = typer.Option(
        None, "--max", help="Highest possible value (e.g. a plant's installed capacity)."
    ),
    latitude: float | None = typer.Option(
        None, "--latitude", min=-90, max=90, help="Solar generation: 0 while the sun is down."
    ),
    longitude: float | None = typer.Option(
        None, "--longitude", min=-180, max=180, help="With --latitude: where the plant is."
    ),
) -> None:
    """Forecast a CSV series: ts,yhat,lo80,hi80,lo95,hi95 for the N steps after the last row."""
    import pandas as pd

    from gridpilot.analytics.forecast import forecast_series

    try:
        if (latitude is None) != (longitude is None):
            raise InputError("--latitude and --longitude go together")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise InputError("--min is above --max")
        series = read_series(csv, time_col, value_col, timezone)
        result = forecast_series(series, horizon=horizon, timezone=None, country=country)
        result = bounded(result, minimum, maximum, latitude, longitude, timezone)
    except (InputError, GridpilotError) as exc:
        message = exc.message if isinstance(exc, GridpilotError) else str(exc)
        console.print(f"[red]error:[/] {message}")
        raise typer.Exit(2) from None
    frame = result.frame()
    frame.insert(0, "ts", format_times(result.index))
    target = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        frame.to_csv(target, index=False, columns=list(OUTPUT_COLUMNS), float_format="%.4f")
    finally:
        if out:
            target.close()
    step = pd.Timedelta(milliseconds=result.step_ms)
    seasons = ", ".join(result.seasonality) or "none"
    console.print(f"forecast {horizon} steps of {step} (seasonality: {seasons})")
