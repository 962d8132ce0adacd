"""A fleet seeded straight through the services in one transaction (no HTTP per asset): the
dashboard's scale tests and ``tests/web/overview_timing.py``.

Each site has ``assets_per_site`` assets: a grid meter, a 40 kW PV plant, an 8 kW prosumer
household (net power and its own consumption) and consumer loads. Readings are consistent with
the balance: the grid meter reads the loads minus the PV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gridpilot.assets.schemas import AssetCreate, MetricCreate, SiteCreate
from gridpilot.assets.service import create_asset, create_metric, create_site
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine, make_sessionmaker, transaction
from gridpilot.db.migrate import upgrade

SEEDER = Principal(subject="test:seed", name="seed", role=Role.ADMINISTRATOR)
PV_KW = 40.0
PROSUMER_KW = 8.0
LOAD_KW = 10.0
PV_NOW_KW = 30.0


@dataclass
class SeededSite:
    site_id: int
    grid: int
    pv: int
    prosumer: int
    loads: list[int] = field(default_factory=list)


async def seed_fleet(settings: Settings, sites: int, assets_per_site: int) -> list[SeededSite]:
    """Migrate the database of ``settings`` and create the fleet (``assets_per_site`` >= 3)."""
    engine = make_engine(settings)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            await create_metric(
                session=session,
                data=MetricCreate(key="power_consumed_kw", unit="kW", min_value=0, max_value=1e6),
            )
            seeded = []
            for n in range(sites):
                site = await create_site(
                    session=session,
                    principal=SEEDER,
                    data=SiteCreate(
                        name=f"Site {n:04d}",
                        timezone="UTC",
                        latitude=44.0 + (n % 20) * 0.4,
                        longitude=5.0 + (n // 20) * 0.6 % 14,
                        contract_demand_kw=100.0 + n,
                    ),
                )

                async def asset(name: str, kind: str, role: str, kw: float | None = None) -> int:
                    data = AssetCreate(
                        site_id=site.id,  # noqa: B023 (awaited before the loop moves on)
                        name=name,
                        kind=kind,
                        role=role,  # type: ignore[arg-type]
                        rated_capacity_kw=kw,
                    )
                    made = await create_asset(session=session, principal=SEEDER, data=data)
                    return made.id

                entry = SeededSite(
                    site.id,
                    await asset("Grid meter", "grid_connection", "grid_connection"),
                    await asset("Roof PV", "solar_pv", "producer", PV_KW),
                    await asset("Household", "meter", "prosumer", PROSUMER_KW),
                )
                for k in range(assets_per_site - 3):
                    entry.loads.append(await asset(f"Load {k}", "hvac", "consumer", 20.0))
                seeded.append(entry)
        return seeded
    finally:
        await engine.dispose()


def readings_at(fleet: list[SeededSite], ts: int) -> list[dict[str, object]]:
    """Every asset's power at ``ts``: loads 10 kW, PV 30 kW, the household exporting 2 kW of
    its 3 kW use (so 5 kW of PV behind it), the grid meter the loads less the PV."""
    out: list[dict[str, object]] = []
    for site in fleet:
        grid = LOAD_KW * len(site.loads) - PV_NOW_KW
        out += [{"asset": a, "metric": "power_kw", "ts": ts, "value": LOAD_KW} for a in site.loads]
        out += [
            {"asset": site.pv, "metric": "power_kw", "ts": ts, "value": PV_NOW_KW},
            {"asset": site.grid, "metric": "power_kw", "ts": ts, "value": grid},
            {"asset": site.prosumer, "metric": "power_kw", "ts": ts, "value": -2.0},
            {"asset": site.prosumer, "metric": "power_consumed_kw", "ts": ts, "value": 3.0},
        ]
    return out
