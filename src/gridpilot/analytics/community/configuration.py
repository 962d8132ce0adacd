"""What a community configuration is made of, for the pure functions: points of delivery
(PODs), the plants behind some of them, and the members who hold them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Plant:
    """A renewable plant injecting through its POD.

    ``area`` is its PV bonus area (``north``/``centre``/``other``, see
    ``incentives.pv_bonus_area``); ``grant_share`` the capital grant as a share of the
    investment (0 to 0.40); ``incentivised`` False for a plant that counts for the
    configuration but earns no TIP (e.g. commissioned before the decree)."""

    power_kw: Decimal
    commissioned_on: date
    is_pv: bool = True
    area: str = "other"
    grant_share: Decimal = Decimal(0)
    incentivised: bool = True


@dataclass(frozen=True)
class Pod:
    """A point of delivery: its primary substation, its market zone (GME column: NORD, CNOR,
    CSUD, SUD, CALA, SICI, SARD), the member holding it, whether it is eligible for the
    incentive (in the configuration and under its substation), and its plant if any."""

    code: str
    member_id: str
    substation: str
    market_zone: str
    eligible: bool = True
    plant: Plant | None = None


@dataclass(frozen=True)
class Member:
    """A member (socio/membro). ``business`` members cannot receive the excess share."""

    member_id: str
    business: bool = False
