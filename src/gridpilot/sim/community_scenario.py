"""The ``community`` scenario (CER seed): households and small businesses under two primary
substations, one site and POD code each, three of them with batteries behind the POD."""

from __future__ import annotations

from gridpilot.sim import noise
from gridpilot.sim.buildings import CommunityMember
from gridpilot.sim.demo_tariffs import COMMUNITY_MEMBERS
from gridpilot.sim.site_specs import CER, FLEET, AssetSpec, SiteSpec
from gridpilot.sim.storage_devices import Battery

#: (profile, base kW, extra kW when open or at peaks, PV kWp) of the community's businesses.
BUSINESSES = (
    ("shop", 1.5, 6.0, 10.0),
    ("bakery", 2.0, 14.0, 0.0),
    ("office", 1.0, 8.0, 15.0),
    ("shop", 1.0, 4.0, 0.0),
)


#: Home batteries behind community members' PODs: member name -> (part name, rated kW,
#: usable kWh) of each: two households with PV (seed 42) and the office, which has two (a
#: site with several batteries).
COMMUNITY_BATTERIES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "Household 07": (("battery", 5.0, 10.0),),
    "Household 10": (("battery", 3.0, 6.0),),
    "Office 3": (("battery-a", 10.0, 20.0), ("battery-b", 6.0, 13.5)),
}


def member_batteries(name: str) -> tuple[tuple[str, Battery], ...]:
    """The simulated batteries behind member ``name``'s POD (10-90 % SOC, 92 % round trip)."""
    return tuple(
        (part, Battery(rated_kw=kw, capacity_kwh=kwh))
        for part, kw, kwh in COMMUNITY_BATTERIES.get(name, ())
    )


def battery_asset_name(member: str, part: str) -> str:
    """``Household 04 battery``, ``Office 3 battery A``."""
    suffix = part.removeprefix("battery").lstrip("-").upper()
    return f"{member} battery" + (f" {suffix}" if suffix else "")


#: The community's two primary substations (cabine primarie): members alternate between them.
SUBSTATIONS = ("AC001E00345", "AC001E00346")
COMMUNITY_PREFIX = "CER Bari: "


#: Where the community is (Bari); its members stand a few hundred metres apart around it.
LAT, LON = 41.117, 16.872


def community(seed: int = 42, households: int = 16) -> list[SiteSpec]:
    """``households`` homes (40 % with 3-6 kWp PV) and four small businesses (20 in all), each
    its own site: a site meters one point of delivery (POD), as the community domain needs.
    Members in ``COMMUNITY_BATTERIES`` have batteries behind their POD: assets of their own
    (kind battery, role storage, fleet topics), driven by the member's model (``part_of``)."""
    return [
        _member_site(n, name, model) for n, (name, model) in enumerate(_members(seed, households))
    ]


def _members(seed: int, households: int) -> list[tuple[str, CommunityMember]]:
    """The households (PV and base load drawn from ``seed``), then the businesses."""
    members = []
    for i in range(households):
        name = f"Household {i + 1:02d}"
        u = noise.uniform(seed, "community/household", [i, i + 1000, i + 2000])
        pv = round(3.0 + 3.0 * float(u[1]), 1) if u[0] < 0.4 else 0.0
        model = CommunityMember(LAT, LON, "household", 0.15 + 0.2 * float(u[2]), 1.2, pv,
                                batteries=member_batteries(name))  # fmt: skip
        members.append((name, model))
    for j, (profile, base, peak, pv) in enumerate(BUSINESSES):
        name = f"{profile.capitalize()} {j + 1}"
        model = CommunityMember(LAT, LON, profile, base, peak, pv, kind="building",
                                batteries=member_batteries(name))  # fmt: skip
        members.append((name, model))
    return members


def _member_site(n: int, name: str, model: CommunityMember) -> SiteSpec:
    """Member ``n``'s site: its POD meter (a prosumer with PV) and the batteries behind it."""
    substation = SUBSTATIONS[n % 2]
    device_id = f"CER-DEV-{n + 1:03d}"
    asset = AssetSpec(
        name,
        device_id,
        model,
        model.pv_kw or None,
        role="prosumer" if model.pv_kw else "consumer",
        attributes={
            "pod_code": f"IT001E{40_000_000 + 1_237 * (n + 1):08d}",
            "primary_substation": substation,
            "pv_kwp": model.pv_kw,
        },
    )
    batteries = tuple(
        AssetSpec(
            battery_asset_name(name, part),
            f"{device_id}-{part.upper()}",
            battery,
            battery.rated_kw,
            role="storage",
            part_of=(device_id, part),
            topics=FLEET,
        )
        for part, battery in model.batteries
    )
    return SiteSpec(
        COMMUNITY_PREFIX + name,
        "Europe/Rome",
        # a few hundred metres apart, so the map shows each member
        round(LAT + 0.004 * (n // 5 - 2), 4),
        round(LON + 0.005 * (n % 5 - 2), 4),
        (asset, *batteries),
        None,
        f"Member of the renewable energy community (CER) of Bari; POD under "
        f"primary substation {substation}."
        + (" A home battery behind the POD." if len(batteries) == 1 else "")
        + (f" {len(batteries)} batteries behind the POD." if len(batteries) > 1 else ""),
        topics=CER,
        tariff=COMMUNITY_MEMBERS,
    )
