"""The statute's distribution of a period's benefit, exact to the cent.

Order (a common CER statute, every figure a parameter of ``Statute``):

1. fixed fees (management, platform, GSE costs...) come off the ordinary part first, in the
   statute's order, each up to what is left (a fee not covered is reported as unpaid);
2. a reserve for the community: ``reserve_share`` of what is left;
3. a producer part: ``producer_share`` of the rest, split among the members holding plants by
   the shared energy allocated to their plants;
4. the consumer part: the rest, split among the members by the statute's key:
   ``consumption`` (the member's withdrawal in the sharing hours, i.e. its share of each hour's
   shared energy, ``E_withdrawn,m,h / E_withdrawn,h x E_shared,h``), ``equal`` or
   ``share_pct`` (fixed percentages);
5. the excess part (see ``excess_share.py``) goes by the same key to non-business members
   only, or to the ``social_fund`` line when the statute says so or no non-business member
   has a weight.

Every split is by largest remainder (Hamilton): each part is floored to the cent, then the
cents left over go one each to the largest remainders, ties broken by recipient id in
ascending order; so the parts always sum exactly to the amount split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from gridpilot.analytics.community.money import CENT, ZERO, as_decimal, to_cents
from gridpilot.core.errors import ValidationFailed

RESERVE = "community_reserve"
SOCIAL = "social_fund"
CONSUMER_KEYS = ("consumption", "equal", "share_pct")


def largest_remainder(
    amount_eur: Decimal, weights: Mapping[str, Decimal | float | int]
) -> dict[str, Decimal]:
    """Split ``amount_eur`` (whole cents) in proportion to ``weights`` (>= 0, not all 0):
    parts in cents that sum exactly to ``amount_eur``. Negative amounts split symmetrically."""
    if amount_eur != amount_eur.quantize(CENT):
        raise ValidationFailed(f"amount {amount_eur} is not in whole cents")
    w = {k: as_decimal(v) for k, v in weights.items()}
    if any(v < 0 for v in w.values()):
        raise ValidationFailed("weights must not be negative")
    total_w = sum(w.values(), Decimal(0))
    if total_w == 0:
        raise ValidationFailed("nothing to split by: every weight is zero")
    sign = Decimal(-1) if amount_eur < 0 else Decimal(1)
    cents = int(abs(amount_eur) / CENT)
    exact = {k: Decimal(cents) * v / total_w for k, v in w.items()}
    floors = {k: int(x.to_integral_value(rounding=ROUND_FLOOR)) for k, x in exact.items()}
    left = cents - sum(floors.values())
    by_remainder = sorted(w, key=lambda k: (-(exact[k] - floors[k]), k))
    for k in by_remainder[:left]:
        floors[k] += 1
    return {k: sign * Decimal(c) * CENT for k, c in floors.items()}


@dataclass(frozen=True)
class Statute:
    """The distribution rules of a community (``fees_eur``: name -> amount for the period)."""

    fees_eur: Mapping[str, Decimal] = field(default_factory=dict)
    reserve_share: Decimal = Decimal(0)
    producer_share: Decimal = Decimal(0)
    consumer_key: str = "consumption"
    share_pct: Mapping[str, Decimal] = field(default_factory=dict)
    excess_to_social_fund: bool = False

    def __post_init__(self) -> None:
        if self.consumer_key not in CONSUMER_KEYS:
            raise ValidationFailed(f"consumer key {self.consumer_key!r} not in {CONSUMER_KEYS}")
        for name, share in (("reserve", self.reserve_share), ("producer", self.producer_share)):
            if not 0 <= share <= 1:
                raise ValidationFailed(f"{name} share {share} outside 0..1")
        if self.consumer_key == "share_pct" and sum(self.share_pct.values()) != 100:
            raise ValidationFailed("share_pct percentages must sum to 100")


@dataclass(frozen=True)
class Distribution:
    """Who gets what [EUR]: fees, reserve, social fund and each member (producer + consumer +
    excess parts); ``total_eur`` equals the sum of every line."""

    total_eur: Decimal
    fees_eur: dict[str, Decimal]
    fees_unpaid_eur: dict[str, Decimal]
    reserve_eur: Decimal
    social_fund_eur: Decimal
    producer_eur: dict[str, Decimal]
    consumer_eur: dict[str, Decimal]
    excess_eur: dict[str, Decimal]

    def member_eur(self, member_id: str) -> Decimal:
        return sum(
            (
                d.get(member_id, ZERO)
                for d in (self.producer_eur, self.consumer_eur, self.excess_eur)
            ),
            ZERO,
        )

    def lines(self) -> dict[str, Decimal]:
        """Every recipient with its amount (members, fees, reserve, social fund)."""
        members = set(self.producer_eur) | set(self.consumer_eur) | set(self.excess_eur)
        out = {m: self.member_eur(m) for m in sorted(members)}
        out.update(self.fees_eur)
        out[RESERVE] = self.reserve_eur
        out[SOCIAL] = self.social_fund_eur
        return out


def _consumer_weights(
    statute: Statute, consumption_kwh: Mapping[str, float], members: Sequence[str]
) -> dict[str, Decimal]:
    if statute.consumer_key == "equal":
        return dict.fromkeys(members, Decimal(1))
    if statute.consumer_key == "share_pct":
        return {m: as_decimal(statute.share_pct.get(m, 0)) for m in members}
    return {m: as_decimal(consumption_kwh.get(m, 0.0)) for m in members}


def _split_or_empty(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    positive = {k: v for k, v in weights.items() if v > 0}
    return largest_remainder(amount, positive) if positive and amount else {}


def distribute(
    statute: Statute,
    *,
    ordinary_eur: Decimal,
    excess_eur: Decimal,
    members: Mapping[str, bool],
    consumption_kwh: Mapping[str, float],
    produced_shared_kwh: Mapping[str, float],
) -> Distribution:
    """Distribute a period's benefit. ``members``: member id -> is a business;
    ``consumption_kwh``: each member's share of the shared energy as consumer;
    ``produced_shared_kwh``: the shared energy allocated to each member's plants."""
    ordinary_eur, excess_eur = to_cents(ordinary_eur), to_cents(excess_eur)
    left = ordinary_eur
    fees: dict[str, Decimal] = {}
    unpaid: dict[str, Decimal] = {}
    for name, amount in statute.fees_eur.items():
        paid = min(to_cents(amount), max(left, ZERO))
        fees[name], left = paid, left - paid
        if paid < amount:
            unpaid[name] = to_cents(amount) - paid
    reserve = to_cents(left * statute.reserve_share)
    left -= reserve
    ids = sorted(members)
    producer_total = to_cents(left * statute.producer_share)
    producer_w = {m: as_decimal(produced_shared_kwh.get(m, 0.0)) for m in ids}
    producers = _split_or_empty(producer_total, producer_w)
    consumer_w = _consumer_weights(statute, consumption_kwh, ids)
    consumers = _split_or_empty(left - sum(producers.values(), ZERO), consumer_w)
    # whatever found no recipient (no producer or no consumer weight) goes to the reserve
    reserve += left - sum(producers.values(), ZERO) - sum(consumers.values(), ZERO)
    eligible = {m: w for m, w in consumer_w.items() if not members[m]}
    excess: dict[str, Decimal] = {}
    if not statute.excess_to_social_fund:
        excess = _split_or_empty(excess_eur, eligible)
    social = excess_eur - sum(excess.values(), ZERO)
    return Distribution(
        total_eur=ordinary_eur + excess_eur,
        fees_eur=fees,
        fees_unpaid_eur=unpaid,
        reserve_eur=reserve,
        social_fund_eur=social,
        producer_eur=producers,
        consumer_eur=consumers,
        excess_eur=excess,
    )
