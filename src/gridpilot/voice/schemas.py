"""Request and response bodies of the voice routes (the industrial seed's OVOS contract)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["en", "it"]


class VoiceQuery(BaseModel):
    """The seed's request: an intent (``registry.REGISTRY``) and its entities."""

    model_config = ConfigDict(extra="forbid")

    intent: str = Field(max_length=40, examples=["energy_consumption"])
    entities: dict[str, str | float | int] = Field(
        default_factory=dict,
        max_length=8,
        description=(
            "machine (or target: an asset or site name or slug, e.g. compressor-1), timeframe "
            "(last_hour, last_24_hours, last_N_hours, last_N_days, today, yesterday, this_week, "
            "last_week, this_month, last_month), min_power / power_kw [kW], driver "
            "(temperature)"
        ),
        examples=[{"machine": "compressor-1", "timeframe": "last_hour"}],
    )
    lang: Lang = Field(default="en", description="Language of the spoken answer")


class VoiceUtterance(BaseModel):
    """Free text as heard by the speech-to-text engine."""

    model_config = ConfigDict(extra="forbid")

    utterance: str = Field(min_length=1, max_length=500, examples=["How much energy did "
                           "compressor one use in the last hour?"])  # fmt: skip
    lang: Lang | None = Field(
        default=None, description="Language of the utterance; both tried (English first) if None"
    )


class VoiceData(BaseModel):
    value: float | None = Field(description="The figure (None when there is none)")
    unit: str | None = Field(description="Its unit: kWh, kW, kg (CO2), a currency, r, ...")
    timeframe: str | None = Field(
        description="The period as an ISO-8601 interval in the site's local time, "
        "e.g. 2025-10-08T14:00+02:00/2025-10-08T15:00+02:00"
    )


class VoiceAnswer(BaseModel):
    """The seed's response: text to speak and the figure behind it."""

    text: str = Field(examples=["Compressor 1 consumed 45.3 kilowatt-hours in the last hour."])
    data: VoiceData


class UtteranceAnswer(VoiceAnswer):
    """The answer plus what was understood (intent None: out of domain)."""

    intent: str | None
    entities: dict[str, Any]
    lang: Lang
