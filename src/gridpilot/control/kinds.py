"""Command kinds and their parameters (units in the names), validated before a command is queued.

| kind | params |
|---|---|
| ``set_power_limit`` | ``limit_kw`` (>= 0, <= rated capacity when known; null: lift the limit) |
| ``start`` / ``stop`` | none |
| ``setpoint`` | exactly one of ``temperature_c``, ``power_kw``, ``soc_pct``, |
| | ``humidity_pct``, ``pressure_bar``, ``flow_m3h`` |
| ``charge`` | ``power_kw`` (> 0), optional ``target_soc_pct``, ``duration_s`` |
| ``discharge`` | ``power_kw`` (> 0), optional ``min_soc_pct``, ``duration_s`` |
| ``charge`` / ``discharge`` | ``power_kw: null`` alone: the hand-back (below) |

``charge``/``discharge`` need a storage asset (role ``storage`` or kind battery/ev_charger).
A timed set point puts a storage device under the EMS's remote control (idle between set
points); ``power_kw: null`` ends it and hands the device back to its own operation (its
default or self-consumption mode): what demand response sends a battery that no flexibility
schedule runs when an event ends.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gridpilot.core.errors import ValidationFailed

MAX_POWER_KW = 10_000_000.0  # 10 GW: anything larger is a unit mistake
MAX_DURATION_S = 7 * 86400
STORAGE_KINDS = frozenset({"battery", "ev_charger"})


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NoParams(_Params):
    """``start`` / ``stop``."""


class SetPowerLimit(_Params):
    limit_kw: float | None = Field(
        ge=0, le=MAX_POWER_KW, description="Active power limit [kW]; null: lift the limit"
    )


class Setpoint(_Params):
    temperature_c: float | None = Field(default=None, ge=-50, le=150)
    power_kw: float | None = Field(default=None, ge=-MAX_POWER_KW, le=MAX_POWER_KW)
    soc_pct: float | None = Field(default=None, ge=0, le=100)
    humidity_pct: float | None = Field(default=None, ge=0, le=100)
    pressure_bar: float | None = Field(default=None, ge=0, le=1000)
    flow_m3h: float | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _exactly_one(self) -> Setpoint:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            names = ", ".join(type(self).model_fields)
            raise ValueError(f"give exactly one setpoint of: {names}")
        return self


class _Storage(_Params):
    duration_s: int | None = Field(default=None, gt=0, le=MAX_DURATION_S)

    @model_validator(mode="after")
    def _hand_back_alone(self) -> _Storage:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if getattr(self, "power_kw", None) is None and given:
            raise ValueError(f"power_kw null (hand back) takes no other params: {', '.join(given)}")
        return self


class Charge(_Storage):
    power_kw: float | None = Field(
        gt=0, le=MAX_POWER_KW, description="Charging power [kW]; null: hand back"
    )
    target_soc_pct: float | None = Field(default=None, ge=0, le=100)


class Discharge(_Storage):
    power_kw: float | None = Field(
        gt=0, le=MAX_POWER_KW, description="Discharging power [kW]; null: hand back"
    )
    min_soc_pct: float | None = Field(default=None, ge=0, le=100)


PARAMS: dict[str, type[_Params]] = {
    "set_power_limit": SetPowerLimit,
    "start": NoParams,
    "stop": NoParams,
    "setpoint": Setpoint,
    "charge": Charge,
    "discharge": Discharge,
}
KINDS = tuple(PARAMS)


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The normalised params of ``kind`` (unset optional fields dropped); ``ValidationFailed``
    listing every problem otherwise."""
    model = PARAMS.get(kind)
    if model is None:
        raise ValidationFailed(f"unknown command kind {kind!r}; known: {', '.join(KINDS)}")
    try:
        parsed = model.model_validate(params)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "params", "reason": e["msg"]}
            for e in exc.errors()
        ]
        raise ValidationFailed(f"invalid params for {kind!r}", details=problems) from None
    if isinstance(parsed, Charge | Discharge) and parsed.power_kw is None:
        return {"power_kw": None}  # the hand-back, kept explicit in the stored command
    if isinstance(parsed, SetPowerLimit) and parsed.limit_kw is None:
        return {"limit_kw": None}  # the limit lifted, kept explicit too
    return parsed.model_dump(exclude_none=True)


def unsuitable_reason(
    kind: str,
    params: dict[str, Any],
    *,
    asset_kind: str,
    asset_role: str,
    rated_capacity_kw: float | None,
) -> str | None:
    """Why ``kind`` with ``params`` does not suit the asset, or None when it does."""
    if kind in {"charge", "discharge"} and not (
        asset_role == "storage" or asset_kind in STORAGE_KINDS
    ):
        return f"{kind!r} needs a storage asset (battery, ev_charger), not a {asset_kind!r}"
    if rated_capacity_kw is not None:
        for name in ("limit_kw", "power_kw"):
            value = params.get(name)
            if value is not None and abs(value) > rated_capacity_kw:
                return (
                    f"{name} {value} exceeds the asset's rated capacity of {rated_capacity_kw} kW"
                )
    return None
