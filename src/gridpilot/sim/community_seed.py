"""The demo's energy community in the community domain, through its services (issue #18).

From the simulated ``community`` scenario (one site and POD per member, two primary
substations): the community ``CER-BARI-SIM`` (market zone SUD, Puglia), its members (households
as private members, the shops and the bakery as businesses, the office as a public body), one
plant/POD per member on its site and asset, the ARERA valorisation in force (an example value:
gridpilot ships none), hourly zonal prices for the demo period as GME CSV through the importer,
and a settlement: the last complete month, closed, when the history covers all of it; else the
current month as a draft. Idempotent: a rerun finds what exists by code, name and POD, and a
closed month stays as it is.

So that the demo shows a finished settlement whatever its ``--days``, ``backfill_settled_month``
gives the community's assets (only them) an hourly history from the first day of the last
complete month up to where the demo's own history starts; ``demo_settings`` raises the raw
retention of the seeding run to accept those readings (the server's retention later keeps
only their rollups; the closed month is stored and never recomputed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.community import parameter_store, plants, prices, service, settlements
from gridpilot.community.schemas import CommunityIn, DistributionRule, MemberIn, PlantIn
from gridpilot.core.settings import Settings
from gridpilot.db.engine import transaction
from gridpilot.sim.backfill import backfill
from gridpilot.sim.community_scenario import COMMUNITY_PREFIX, SUBSTATIONS
from gridpilot.sim.provision import SIMULATOR, SimAsset
from gridpilot.sim.zonal_prices import gme_csv
from gridpilot.telemetry.tasks import TelemetryRuntime

ROME = ZoneInfo("Europe/Rome")
HOUR_MS = 3_600_000
CODE = "CER-BARI-SIM"
ZONE = "SUD"  # Bari, Puglia: GME zone Sud
#: ARERA's unit valorisation [EUR/MWh]: an example value, labelled so (docs/community.md).
VALORISATION = Decimal("10.57")
#: The member whose gridpilot user shows a member's own view (``MEMBER_USER``).
VIEW_MEMBER = "Household 01"
MEMBER_USER = "member"

COMMUNITY = CommunityIn(
    name="CER Bari (simulated)",
    code=CODE,
    description="The demo's renewable energy community: 20 simulated members in Bari.",
    primary_substations=list(SUBSTATIONS),
    market_zone=ZONE,
    region="Puglia",
    distribution=DistributionRule(
        fees_eur={"management": Decimal("5.00")},
        reserve_share=Decimal("0.10"),
        producer_share=Decimal("0.50"),
        consumer_key="consumption",
    ),
)


@dataclass(frozen=True)
class CommunitySummary:
    community_id: int
    members: int
    plants: int
    year: int
    month: int
    status: str
    gse_estimate_eur: Decimal
    note: str


def member_kind(name: str) -> tuple[str, str]:
    """(user type, category) of a simulated member by its name."""
    if name.startswith(("Shop", "Bakery")):
        return "BUSINESS", "sme"
    if name.startswith("Office"):
        return "PRIVATE", "public_body"
    return "PRIVATE", "none"


def settlement_month(now: datetime, history_start: datetime) -> tuple[int, int, bool]:
    """(year, month, close): the last complete month (Europe/Rome) when the history starts by
    its first day, else the current month, as a draft."""
    local = now.astimezone(ROME)
    first_this = local.date().replace(day=1)
    last_month = (first_this - timedelta(days=1)).replace(day=1)
    month_start = datetime(last_month.year, last_month.month, 1, tzinfo=ROME)
    if history_start <= month_start:
        return last_month.year, last_month.month, True
    return local.year, local.month, False


def community_assets(assets: list[SimAsset]) -> list[SimAsset]:
    return [a for a in assets if a.scenario == "community"]


def last_month_start(now: datetime) -> datetime:
    """Midnight (Europe/Rome) of the first day of the last complete month."""
    first_this = now.astimezone(ROME).date().replace(day=1)
    last = (first_this - timedelta(days=1)).replace(day=1)
    return datetime(last.year, last.month, 1, tzinfo=ROME)


def demo_settings(settings: Settings, now: datetime) -> Settings:
    """``settings`` with a raw retention long enough to store the last complete month."""
    needed = (now - last_month_start(now)).days + 2
    days = settings.retention_raw_days
    if days is not None and days < needed:
        return settings.model_copy(update={"retention_raw_days": needed})
    return settings


async def backfill_settled_month(
    assets: list[SimAsset],
    *,
    runtime: TelemetryRuntime,
    now: datetime,
    history_start: datetime,
    seed: int = 42,
) -> datetime:
    """Hourly history of the community's assets from the first day of the last complete month
    up to ``history_start`` (the demo's own history goes on from there); returns the start of
    the community's history. Nothing to do when the history already reaches back that far, or
    on a rerun (each asset resumes after its last reading)."""
    start = last_month_start(now)
    mine = community_assets(assets)
    if history_start <= start or not mine:
        return min(history_start, start)
    end_ms = int(history_start.timestamp() * 1000)
    span_ms = end_ms - int(start.timestamp() * 1000)
    report = await backfill(
        mine, runtime=runtime, seed=seed, span_ms=span_ms, step_ms=HOUR_MS, end_ms=end_ms
    )
    if report.rejected:
        raise RuntimeError(f"community history rejected ({report.rejected}): {report.reasons[:1]}")
    return start


async def _community(session: AsyncSession) -> int:
    found, _ = await service.list_communities(
        session=session, principal=SIMULATOR, page=1, per_page=1000
    )
    for community in found:
        if community.code == CODE:
            return community.id
    access = await service.create_community(session=session, principal=SIMULATOR, data=COMMUNITY)
    return access.community.id


async def _members(
    session: AsyncSession, community_id: int, assets: list[SimAsset], user_id: int | None
) -> dict[str, int]:
    """Member id by name (created when missing), joined a year before the demo."""
    existing, _ = await service.list_members(
        session=session, principal=SIMULATOR, community_id=community_id, page=1,
        per_page=1000, include_former=True,
    )  # fmt: skip
    ids = {m.name: m.member_id for m in existing}
    joined = date(datetime.now(ROME).year - 1, 1, 1)
    for asset in assets:
        name = asset.spec.name
        if name in ids:
            continue
        user_type, category = member_kind(name)
        out = await service.add_member(
            session=session, principal=SIMULATOR, community_id=community_id,
            data=MemberIn(
                name=name, user_type=user_type, category=category,
                user_id=user_id if name == VIEW_MEMBER else None,
                role="ADMIN" if name.startswith("Office") else "MEMBER", joined_on=joined,
            ),
        )  # fmt: skip
        ids[name] = out.member_id
    return ids


def _plant(community_id: int, member_id: int, asset: SimAsset, n: int) -> PlantIn:
    pv = float(asset.spec.attributes.get("pv_kwp") or 0.0)
    return PlantIn(
        community_id=community_id, member_id=member_id,
        name=asset.site.name.removeprefix(COMMUNITY_PREFIX),
        pod_code=asset.spec.attributes["pod_code"],
        plant_type="PROSUMER" if pv > 0 else "CONSUMER",
        nominal_power_kw=Decimal(str(pv)), connection_voltage="BT 400 V",
        commissioning_date=date(2024, 1 + n % 12, 1 + n) if pv > 0 else None,
        technology="pv" if pv > 0 else None,
        capital_grant_pct=Decimal(20) if asset.spec.name == "Shop 1" else Decimal(0),
        primary_substation=asset.spec.attributes["primary_substation"],
        site_id=asset.site_id, asset_id=asset.asset_id, city="Bari", province="BA",
        latitude=asset.site.latitude, longitude=asset.site.longitude,
    )  # fmt: skip


async def _plants(
    session: AsyncSession, community_id: int, assets: list[SimAsset], members: dict[str, int]
) -> int:
    rows, _ = await plants.list_plants(
        session=session, principal=SIMULATOR, community_id=community_id, page=1, per_page=1000
    )
    pods = {p.pod_code for p in rows}
    for n, asset in enumerate(assets):
        if asset.spec.attributes["pod_code"] in pods:
            continue
        data = _plant(community_id, members[asset.spec.name], asset, n)
        await plants.create_plant(session=session, principal=SIMULATOR, data=data)
    return len(assets)


async def _parameters(session: AsyncSession) -> None:
    """The ARERA valorisation from 2024 (recorded once)."""
    names = {r.name for r in await parameter_store.recorded(session)}
    if "arera_valorisation_eur_per_mwh" not in names:
        await parameter_store.record_version(
            session=session, principal=SIMULATOR, name="arera_valorisation_eur_per_mwh",
            value=VALORISATION, valid_from=date(2024, 1, 1), valid_to=None,
            note="gridpilot demo: an example value, not ARERA's published one",
        )  # fmt: skip


async def _settle(
    session: AsyncSession, community_id: int, year: int, month: int, close: bool
) -> tuple[str, Decimal]:
    settlement, _ = await settlements.run_settlement(
        session=session, principal=SIMULATOR, community_id=community_id, year=year, month=month
    )
    if close and settlement.status == "draft":
        settlement = await settlements.close_settlement(
            session=session, principal=SIMULATOR, community_id=community_id,
            settlement_id=settlement.id,
        )  # fmt: skip
    return settlement.status, settlement.gse_estimate_eur


async def seed_community(
    sessions: async_sessionmaker[AsyncSession],
    assets: list[SimAsset],
    *,
    history_start: datetime,
    now: datetime,
    member_user_id: int | None = None,
    seed: int = 42,
) -> CommunitySummary:
    """Create (or complete) the demo's community and settle a month; see the module doc."""
    mine = community_assets(assets)
    if not mine:
        raise ValueError("the community scenario is not provisioned")
    year, month, close = settlement_month(now, history_start)
    first = min(history_start.astimezone(ROME).date(), date(year, month, 1))
    last = now.astimezone(ROME).date() + timedelta(days=1)
    async with transaction(sessions) as session:
        community_id = await _community(session)
        members = await _members(session, community_id, mine, member_user_id)
        count = await _plants(session, community_id, mine, members)
        await _parameters(session)
        await prices.import_prices(
            session=session, principal=SIMULATOR, text=gme_csv(first, last, zone=ZONE, seed=seed)
        )
    async with transaction(sessions) as session:
        status, estimate = await _settle(session, community_id, year, month, close)
    note = (
        f"settlement {year:04d}-{month:02d} {status}"
        if close
        else f"settlement {year:04d}-{month:02d} is a draft (month running): the history does "
        "not cover the last complete month"
    )
    return CommunitySummary(community_id, len(members), count, year, month, status, estimate, note)
