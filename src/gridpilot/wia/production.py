"""WIA Production Data objects <-> gridpilot readings.

One production object becomes up to seven readings of its source's asset:

| Production Data field                        | metric           | unit sent            |
|----------------------------------------------|------------------|----------------------|
| production.instantaneous.value               | power_kw         | instantaneous.unit   |
| production.cumulative.lifetime               | energy_kwh       | cumulative.unit      |
| efficiency.current                           | efficiency_pct   | %                    |
| environmentalConditions.temperature          | temperature_c    | degC                 |
| environmentalConditions.humidity             | humidity_pct     | %                    |
| environmentalConditions.windSpeed            | wind_speed_ms    | m/s                  |
| environmentalConditions.solarIrradiance      | irradiance_wm2   | W/m2                 |

``cumulative.today``/``thisMonth`` and ``efficiency.average24h`` are derived figures: they are not
stored, they are recomputed from the stored readings when production data is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import to_ms
from gridpilot.wia.schemas import ProductionData, ProductionRejection


@dataclass(frozen=True)
class FieldMapping:
    field: str
    metric: str
    value: Callable[[ProductionData], float | None]
    unit: Callable[[ProductionData], str]


def _const(unit: str) -> Callable[[ProductionData], str]:
    return lambda _item: unit


def _instantaneous(item: ProductionData) -> float | None:
    p = item.production
    return p.instantaneous.value if p is not None and p.instantaneous is not None else None


def _instantaneous_unit(item: ProductionData) -> str:
    p = item.production
    return p.instantaneous.unit if p is not None and p.instantaneous is not None else "kW"


def _lifetime(item: ProductionData) -> float | None:
    p = item.production
    return p.cumulative.lifetime if p is not None and p.cumulative is not None else None


def _lifetime_unit(item: ProductionData) -> str:
    p = item.production
    return p.cumulative.unit if p is not None and p.cumulative is not None else "kWh"


def _efficiency(item: ProductionData) -> float | None:
    return item.efficiency.current if item.efficiency is not None else None


def _environment(name: str) -> Callable[[ProductionData], float | None]:
    def value(item: ProductionData) -> float | None:
        env = item.environmentalConditions
        return getattr(env, name) if env is not None else None

    return value


FIELDS: tuple[FieldMapping, ...] = (
    FieldMapping("production.instantaneous", "power_kw", _instantaneous, _instantaneous_unit),
    FieldMapping("production.cumulative.lifetime", "energy_kwh", _lifetime, _lifetime_unit),
    FieldMapping("efficiency.current", "efficiency_pct", _efficiency, _const("%")),
    FieldMapping(
        "environmentalConditions.temperature",
        "temperature_c",
        _environment("temperature"),
        _const("degC"),
    ),
    FieldMapping(
        "environmentalConditions.humidity", "humidity_pct", _environment("humidity"), _const("%")
    ),
    FieldMapping(
        "environmentalConditions.windSpeed",
        "wind_speed_ms",
        _environment("windSpeed"),
        _const("m/s"),
    ),
    FieldMapping(
        "environmentalConditions.solarIrradiance",
        "irradiance_wm2",
        _environment("solarIrradiance"),
        _const("W/m2"),
    ),
)

#: Every metric a production object can carry.
PRODUCTION_METRICS: tuple[str, ...] = tuple(f.metric for f in FIELDS)


@dataclass
class ReadingBatch:
    """Readings made from production objects and where each one came from."""

    readings: list[dict[str, Any]]
    origins: list[tuple[int, str]]  # (object index, field) per reading
    empty: list[ProductionRejection]  # objects refused whole: no value, unusable timestamp


def to_readings(
    items: Sequence[ProductionData], asset_id: int, indexes: Sequence[int] | None = None
) -> ReadingBatch:
    """The readings of ``items`` for ``asset_id`` (timestamps as epoch ms; their range is
    checked by the telemetry validation, reading by reading). ``indexes``: each item's position
    in the request (default: its position in ``items``)."""
    batch = ReadingBatch(readings=[], origins=[], empty=[])
    positions = indexes if indexes is not None else range(len(items))
    for index, item in zip(positions, items, strict=True):
        try:
            ts = to_ms(item.timestamp)
        except ValidationFailed as exc:
            batch.empty.append(
                ProductionRejection(index=index, field="timestamp", reason=exc.message)
            )
            continue
        before = len(batch.readings)
        for mapping in FIELDS:
            value = mapping.value(item)
            if value is None:
                continue
            batch.readings.append(
                {
                    "asset": asset_id,
                    "metric": mapping.metric,
                    "ts": ts,
                    "value": value,
                    "unit": mapping.unit(item),
                }
            )
            batch.origins.append((index, mapping.field))
        if len(batch.readings) == before:
            batch.empty.append(
                ProductionRejection(
                    index=index, field="", reason="the production object carries no value"
                )
            )
    return batch


def rejections_of(
    batch: ReadingBatch, rejected: Sequence[tuple[int, str]]
) -> list[ProductionRejection]:
    """Reading-level rejections ``(reading index, reason)`` as production-object rejections."""
    out = list(batch.empty)
    for reading_index, reason in rejected:
        index, field = batch.origins[reading_index]
        out.append(ProductionRejection(index=index, field=field, reason=reason))
    return sorted(out, key=lambda r: (r.index, r.field))
