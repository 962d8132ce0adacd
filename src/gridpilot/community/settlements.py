"""Monthly settlements of a community: run (a draft, recomputed on every run), close (then
immutable, with its ledger lines), read.

A run reads the month (Europe/Rome calendar) of hourly POD energy from the sites' balances,
the zonal prices, the parameters in force as recorded at that moment and the statute, and
calls the pure ``settle_month``; the figures are stored with the parameters and statute they
used, so a closed month never changes: a later parameter version cannot touch it (409) and a
second run returns the stored settlement.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.community import configuration as pure
from gridpilot.analytics.community.allocation import RULES
from gridpilot.analytics.community.distribution import Statute
from gridpilot.analytics.community.incentives import CerParameters
from gridpilot.analytics.community.reconciliation import (
    MonthDifference,
    StatementError,
    parse_statement,
    reconcile,
)
from gridpilot.analytics.community.settlement import Settlement as Figures
from gridpilot.analytics.community.settlement import month_bounds_utc, settle_month
from gridpilot.auth.permissions import Principal
from gridpilot.community import parameter_store
from gridpilot.community.access import Access, community_access
from gridpilot.community.energy import community_plants, pod_energy, pod_of
from gridpilot.community.models import Member, Membership, Settlement, Transaction
from gridpilot.community.prices import zone_prices
from gridpilot.community.statements import Row, statement_rows
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed
from gridpilot.db.base import utcnow

BUSINESS_CATEGORIES = frozenset({"sme"})


def is_business(member: Member) -> bool:
    """Businesses (user type BUSINESS or an SME) cannot receive the excess share; public
    bodies, third-sector and religious bodies can (DM 414/2023 art. 3)."""
    return member.user_type == "BUSINESS" or member.category in BUSINESS_CATEGORIES


def month_days(year: int, month: int) -> tuple[date, date]:
    """First day of the month and first day of the next."""
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


async def _members(
    session: AsyncSession, community_id: int, year: int, month: int
) -> list[tuple[Member, Membership]]:
    """Members whose membership overlaps the month."""
    first, after = month_days(year, month)
    rows = await session.execute(
        select(Member, Membership)
        .join(Membership, Membership.member_id == Member.id)
        .where(
            Membership.community_id == community_id,
            Membership.joined_on < after,
            or_(Membership.left_on.is_(None), Membership.left_on > first),
        )
        .order_by(Member.id)
    )
    return [(m, ms) for m, ms in rows.all()]


def _statute(rule: dict[str, Any], memberships: list[Membership]) -> Statute:
    shares = {str(ms.member_id): ms.share_pct or Decimal(0) for ms in memberships}
    return Statute(
        fees_eur={k: Decimal(v) for k, v in rule.get("fees_eur", {}).items()},
        reserve_share=Decimal(str(rule.get("reserve_share", 0))),
        producer_share=Decimal(str(rule.get("producer_share", 0))),
        consumer_key=rule.get("consumer_key", "consumption"),
        share_pct=shares,
        excess_to_social_fund=bool(rule.get("excess_to_social_fund", False)),
    )


async def _compute(
    session: AsyncSession, access: Access, year: int, month: int
) -> tuple[Figures, dict[str, Any], dict[str, Any]]:
    community = access.community
    start, end = month_bounds_utc(year, month)
    start_ms, end_ms = int(start.value // 1_000_000), int(end.value // 1_000_000)
    plants = await community_plants(session, community.id)
    members = await _members(session, community.id, year, month)
    owners = {p.member_id for p in plants} | {m.id for m, _ in members}
    known = {m.id: m for m, _ in members}
    for member_id in sorted(owners - set(known)):  # a plant owner who has left
        member = await session.get(Member, member_id)
        if member is not None:
            known[member_id] = member
    energy = await pod_energy(session, plants, start_ms, end_ms)
    as_of = utcnow()
    first, after = month_days(year, month)
    values = parameter_store.resolved(await parameter_store.versions(session), first, after, as_of)
    statute = _statute(community.distribution, [ms for _, ms in members])
    figures = settle_month(
        year=year,
        month=month,
        pods=[pod_of(p, community) for p in plants],
        members=[pure.Member(str(i), is_business(m)) for i, m in sorted(known.items())],
        injected_kwh=energy.injected_kwh,
        withdrawn_kwh=energy.withdrawn_kwh,
        zonal_prices=await zone_prices(session, community.market_zone, start_ms, end_ms),
        params=CerParameters.from_values(values),
        statute=statute,
        allocation=RULES[community.allocation_rule],
    )
    used = {name: parameter_store.encode(name, v) for name, v in sorted(values.items())}
    statute_json = {
        **community.distribution,
        "share_pct": {k: str(v) for k, v in statute.share_pct.items()},
    }
    return figures, used, {"as_of": as_of, "statute": statute_json}


def _member_lines(figures: Figures) -> list[dict[str, Any]]:
    d = figures.distribution
    ids = set(d.producer_eur) | set(d.consumer_eur) | set(d.excess_eur)
    ids |= set(figures.consumption_kwh)
    produced: dict[str, float] = {}
    for line in figures.plants:
        produced[line.member_id] = produced.get(line.member_id, 0.0) + line.shared_kwh
    zero = Decimal("0.00")
    return [
        {
            "member_id": int(m),
            "consumption_kwh": round(figures.consumption_kwh.get(m, 0.0), 6),
            "produced_shared_kwh": round(produced.get(m, 0.0), 6),
            "producer_eur": str(d.producer_eur.get(m, zero)),
            "consumer_eur": str(d.consumer_eur.get(m, zero)),
            "excess_eur": str(d.excess_eur.get(m, zero)),
            "total_eur": str(d.member_eur(m)),
        }
        for m in sorted(ids, key=int)
    ]


def _plant_lines(figures: Figures, plant_ids: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "pod_code": p.pod,
            "plant_id": plant_ids.get(p.pod),
            "member_id": int(p.member_id),
            "substation": p.substation,
            "injected_kwh": round(p.injected_kwh, 6),
            "shared_kwh": round(p.shared_kwh, 6),
            "incentive_eur": str(p.incentive_eur),
            "excess_eur": str(p.excess.excess_eur),
            "ordinary_eur": str(p.excess.ordinary_eur),
        }
        for p in figures.plants
    ]


def _result(figures: Figures, plant_ids: dict[str, int]) -> dict[str, Any]:
    """The settlement's figures as JSON (money as text)."""
    d = figures.distribution
    shared = figures.shared
    substations = [
        {
            "substation": g,
            "shared_kwh": round(shared.total_kwh(g), 6),
            "coverage": round(shared.coverage[g], 6),
            "missing_hours": len(shared.missing_hours[g]),
        }
        for g in shared.groups
    ]
    return {
        "substations": substations,
        "plants": _plant_lines(figures, plant_ids),
        "members": _member_lines(figures),
        "fees_eur": {k: str(v) for k, v in d.fees_eur.items()},
        "fees_unpaid_eur": {k: str(v) for k, v in d.fees_unpaid_eur.items()},
        "reserve_eur": str(d.reserve_eur),
        "social_fund_eur": str(d.social_fund_eur),
        "zones_shared_kwh": {z: round(v, 6) for z, v in figures.zone_shared_kwh.items()},
    }


async def stored_settlement(
    session: AsyncSession, community_id: int, year: int, month: int
) -> Settlement | None:
    """The community's stored settlement of a month (draft or closed), if any."""
    return await session.scalar(
        select(Settlement).where(
            Settlement.community_id == community_id,
            Settlement.year == year,
            Settlement.month == month,
        )
    )


async def run_settlement(
    *, session: AsyncSession, principal: Principal, community_id: int, year: int, month: int
) -> tuple[Settlement, bool]:
    """Compute (or recompute a draft of) a month; ``(settlement, created)``. A closed month
    is returned as stored, never recomputed."""
    access = await community_access(session, principal, community_id, manage=True)
    existing = await stored_settlement(session, community_id, year, month)
    if existing is not None and existing.status == "closed":
        return existing, False
    figures, used, extra = await _compute(session, access, year, month)
    plant_ids = {p.pod_code: p.id for p in await community_plants(session, community_id)}
    values = {
        "status": "draft", "computed_at": utcnow(), "parameters": used,
        "parameters_as_of": extra["as_of"], "statute": extra["statute"],
        "incentive_eur": figures.incentive_eur, "valorisation_eur": figures.valorisation_eur,
        "gse_estimate_eur": figures.gse_estimate_eur, "result": _result(figures, plant_ids),
    }  # fmt: skip
    if existing is not None:
        for field, value in values.items():
            setattr(existing, field, value)
        settlement, created = existing, False
    else:
        settlement = Settlement(community_id=community_id, year=year, month=month, **values)
        session.add(settlement)
        created = True
    await session.flush()
    await session.refresh(settlement)
    return settlement, created


async def preview_settlement(
    *, session: AsyncSession, principal: Principal, community_id: int, year: int, month: int
) -> tuple[Settlement, Access]:
    """A month's figures as a run would store them, computed without writing (any role may
    read; ``id`` None when no draft is stored yet). A closed month answers as stored."""
    access = await community_access(session, principal, community_id)
    existing = await stored_settlement(session, community_id, year, month)
    if existing is not None and existing.status == "closed":
        return existing, access
    figures, used, extra = await _compute(session, access, year, month)
    plant_ids = {p.pod_code: p.id for p in await community_plants(session, community_id)}
    preview = Settlement(
        id=existing.id if existing is not None else None, community_id=community_id, year=year,
        month=month, status="draft", computed_at=utcnow(), closed_at=None, parameters=used,
        parameters_as_of=extra["as_of"], statute=extra["statute"],
        incentive_eur=figures.incentive_eur, valorisation_eur=figures.valorisation_eur,
        gse_estimate_eur=figures.gse_estimate_eur, result=_result(figures, plant_ids),
    )  # fmt: skip
    return preview, access


async def get_settlement(
    *, session: AsyncSession, principal: Principal, community_id: int, settlement_id: int
) -> tuple[Settlement, Access]:
    access = await community_access(session, principal, community_id)
    settlement = await session.get(Settlement, settlement_id)
    if settlement is None or settlement.community_id != community_id:
        raise NotFound(f"settlement {settlement_id} not found")
    return settlement, access


async def list_settlements(
    *, session: AsyncSession, principal: Principal, community_id: int
) -> tuple[list[Settlement], Access]:
    access = await community_access(session, principal, community_id)
    rows = await session.scalars(
        select(Settlement)
        .where(Settlement.community_id == community_id)
        .order_by(Settlement.year, Settlement.month)
    )
    return list(rows), access


async def close_settlement(
    *, session: AsyncSession, principal: Principal, community_id: int, settlement_id: int
) -> Settlement:
    """Close a draft of an ended month: immutable from now on; writes its ledger lines."""
    await community_access(session, principal, community_id, manage=True)
    settlement, _ = await get_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id,
    )  # fmt: skip
    if settlement.status == "closed":
        raise Conflict(f"settlement {settlement_id} is already closed")
    _, end = month_bounds_utc(settlement.year, settlement.month)
    if utcnow() < end.to_pydatetime():
        raise ValidationFailed("the month has not ended: it cannot be closed yet")
    settlement.status, settlement.closed_at = "closed", utcnow()
    for line in ledger_lines(settlement):
        session.add(line)
    await session.flush()
    await session.refresh(settlement)
    return settlement


def ledger_lines(settlement: Settlement) -> list[Transaction]:
    """The GSE payment expected, the fees and each member's benefit, all PENDING."""
    first, after = month_days(settlement.year, settlement.month)
    last = date.fromordinal(after.toordinal() - 1)
    label = f"{settlement.year:04d}-{settlement.month:02d}"
    common = {
        "community_id": settlement.community_id, "settlement_id": settlement.id,
        "period_start": first, "period_end": last, "status": "PENDING", "currency": "EUR",
    }  # fmt: skip
    lines = [
        Transaction(
            transaction_type="GSE_PAYMENT", amount_eur=settlement.gse_estimate_eur,
            description=f"GSE incentive and valorisation estimate {label}", **common,
        )
    ]  # fmt: skip
    for name, amount in settlement.result["fees_eur"].items():
        if Decimal(amount):
            lines.append(
                Transaction(
                    transaction_type="FEE", amount_eur=Decimal(amount),
                    description=f"{name} {label}", **common,
                )
            )  # fmt: skip
    for part in settlement.result["members"]:
        if Decimal(part["total_eur"]):
            lines.append(
                Transaction(
                    transaction_type="BENEFIT_DISTRIBUTION", member_id=part["member_id"],
                    amount_eur=Decimal(part["total_eur"]), description=f"benefit {label}",
                    **common,
                )
            )  # fmt: skip
    return lines


async def member_statement(
    *,
    session: AsyncSession,
    principal: Principal,
    community_id: int,
    settlement_id: int,
    member_id: int,
) -> tuple[list[Row], str, str]:
    """A member's statement rows, title and file name stem; 404 for another member's
    (unless the caller administers the community)."""
    settlement, access = await get_settlement(
        session=session, principal=principal, community_id=community_id,
        settlement_id=settlement_id,
    )  # fmt: skip
    member = await session.get(Member, member_id)
    if member is None or not access.sees_member(member_id):
        raise NotFound(f"member {member_id} not found")
    rows = statement_rows(settlement, member_id, member.name)
    period = f"{settlement.year:04d}-{settlement.month:02d}"
    title = f"{access.community.name}: statement {period}, {member.name}"
    return rows, title, f"statement-{access.community.code}-{period}-{member_id}"


async def list_transactions(
    *,
    session: AsyncSession,
    principal: Principal,
    community_id: int,
    page: int,
    per_page: int,
) -> tuple[list[Transaction], int]:
    """The ledger: all lines for admins; for members, their own and the community's."""
    access = await community_access(session, principal, community_id)
    query = select(Transaction).where(Transaction.community_id == community_id)
    if not access.sees_all:
        query = query.where(
            or_(Transaction.member_id.is_(None), Transaction.member_id == access.member_id)
        )
    rows = list(await session.scalars(query.order_by(Transaction.id)))
    return rows[(page - 1) * per_page : page * per_page], len(rows)


async def reconcile_gse(
    *, session: AsyncSession, principal: Principal, community_id: int, text: str
) -> list[tuple[MonthDifference, str | None]]:
    """Each month of the GSE statement (or of a settlement) with the estimate, the amount
    paid and the difference, and the settlement's status. Nothing is stored."""
    await community_access(session, principal, community_id, manage=True)
    try:
        paid = parse_statement(text)
    except StatementError as exc:  # well-formed body, refused content: 422
        raise ValidationFailed(exc.message, details=exc.details) from None
    except csv.Error as exc:
        raise ValidationFailed(f"the CSV cannot be read: {exc}") from None
    rows = await session.scalars(select(Settlement).where(Settlement.community_id == community_id))
    estimates: dict[str, Decimal] = {}
    status: dict[str, str] = {}
    for row in rows:
        month = f"{row.year:04d}-{row.month:02d}"
        estimates[month], status[month] = row.gse_estimate_eur, row.status
    return [(d, status.get(d.month)) for d in reconcile(estimates, paid)]
