"""A machine's production data (the industrial seed's ``production_data``), kept as readings.

Each field is a catalogue metric (``assets/catalogue.py``): ``production_count`` (counter of
units), ``throughput_uph`` [units/h], ``operating_mode`` (the index of the mode in
``OPERATING_MODES``), ``recipe`` (the index of the recipe or material in the asset's
``attributes.recipes``) and ``material_moisture_pct`` [%]. ``to_readings`` turns the seed's
records (modes and recipes by name) into readings; ``read_production`` reads them back per
interval, names again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gridpilot.assets.catalogue import OPERATING_MODES
from gridpilot.assets.metrics import MetricRef
from gridpilot.core.errors import ValidationFailed
from gridpilot.telemetry.queries import Executor, series

#: Field of a seed record -> (metric, how an interval aggregates it).
FIELDS: dict[str, tuple[str, str]] = {
    "production_count": ("production_count", "delta"),
    "throughput_units_per_hour": ("throughput_uph", "avg"),
    "operating_mode": ("operating_mode", "last"),
    "recipe_id": ("recipe", "last"),
    "material_moisture_pct": ("material_moisture_pct", "avg"),
}


@dataclass(frozen=True)
class ProductionInterval:
    """One interval ``[ts_ms, ts_ms + step)`` of a machine's production data; None: no data."""

    ts_ms: int
    #: Units made in the interval (the counter's positive steps).
    units: float | None
    throughput_uph: float | None
    #: The last mode and recipe reported in the interval.
    operating_mode: str | None
    recipe_id: str | None
    material_moisture_pct: float | None


def mode_code(name: str) -> int:
    """The stored code of an operating mode; ``ValidationFailed`` naming the known modes."""
    if name not in OPERATING_MODES:
        raise ValidationFailed(
            f"unknown operating_mode {name!r}: use one of {', '.join(OPERATING_MODES)}"
        )
    return OPERATING_MODES.index(name)


def recipe_code(name: str, recipes: Sequence[str]) -> int:
    """The stored code of a recipe of the asset; ``ValidationFailed`` naming its recipes."""
    if name not in recipes:
        known = ", ".join(recipes) if recipes else "none"
        raise ValidationFailed(
            f"unknown recipe_id {name!r} for this asset (its attributes.recipes: {known}); "
            "add it to the asset's attributes.recipes first"
        )
    return list(recipes).index(name)


def _label(code: float | None, names: Sequence[str]) -> str | None:
    if code is None:
        return None
    index = round(code)
    return names[index] if 0 <= index < len(names) else f"code {index}"


def to_readings(
    asset_id: int, records: Sequence[dict[str, Any]], recipes: Sequence[str]
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Readings of the seed's ``records`` (each with ``ts`` and any of ``FIELDS``) and, for
    each reading, the (record index, field) it came from. Raises ``ValidationFailed`` naming
    the record and field of an unknown mode or recipe."""
    readings: list[dict[str, Any]] = []
    origins: list[tuple[int, str]] = []
    for index, record in enumerate(records):
        for field_name, (metric, _) in FIELDS.items():
            value = record.get(field_name)
            if value is None:
                continue
            try:
                if field_name == "operating_mode":
                    value = mode_code(str(value))
                elif field_name == "recipe_id":
                    value = recipe_code(str(value), recipes)
            except ValidationFailed as exc:
                raise ValidationFailed(f"records[{index}].{field_name}: {exc}") from exc
            readings.append(
                {"asset": asset_id, "metric": metric, "ts": record["ts"], "value": value}
            )
            origins.append((index, field_name))
    return readings, origins


async def read_production(
    *,
    session: Executor,
    asset_id: int,
    metrics: dict[str, MetricRef],
    recipes: Sequence[str],
    start_ms: int,
    end_ms: int,
    step_ms: int,
    max_points: int,
) -> list[ProductionInterval]:
    """The asset's production data per interval of ``step_ms`` in ``[start_ms, end_ms)``
    (intervals without any of it left out); ``metrics`` maps catalogue keys to refs."""
    values: dict[str, dict[int, float | None]] = {}
    for field_name, (metric, agg) in FIELDS.items():
        ref = metrics.get(metric)
        if ref is None:
            values[field_name] = {}
            continue
        found = await series(
            session=session, asset_id=asset_id, metric_id=ref.id, start_ms=start_ms,
            end_ms=end_ms, step_ms=step_ms, agg=agg, max_points=max_points,
        )  # fmt: skip
        values[field_name] = {
            p.ts_ms: None if p.value is None else float(p.value) for p in found.points
        }
    stamps = sorted({ts for by_ts in values.values() for ts in by_ts})
    return [
        ProductionInterval(
            ts_ms=ts,
            units=values["production_count"].get(ts),
            throughput_uph=values["throughput_units_per_hour"].get(ts),
            operating_mode=_label(values["operating_mode"].get(ts), OPERATING_MODES),
            recipe_id=_label(values["recipe_id"].get(ts), recipes),
            material_moisture_pct=values["material_moisture_pct"].get(ts),
        )
        for ts in stamps
    ]
