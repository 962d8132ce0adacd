"""The fleet the command benchmarks share (``bulk_commands.py``, ``scheduled_commands.py``):
batteries of 50 kW on ``SITES`` sites and one dynamic device group of them, made through the
HTTP API of a running server."""

from __future__ import annotations

import httpx

SITES = 10


def provision(http: httpx.Client, devices: int) -> list[int]:
    """``devices`` batteries (expected every hour) spread over ``SITES`` sites; their ids."""
    assets: list[int] = []
    per_site = -(-devices // SITES)
    for s in range(SITES):
        site = http.post("/api/v1/sites", json={"name": f"Fleet {s}", "timezone": "Europe/Rome"})
        site.raise_for_status()
        for i in range(min(per_site, devices - len(assets))):
            made = http.post("/api/v1/assets", json={
                "site_id": site.json()["id"], "name": f"BESS {i}", "kind": "battery",
                "rated_capacity_kw": 50, "expected_interval_s": 3600})  # fmt: skip
            made.raise_for_status()
            assets.append(int(made.json()["id"]))
    return assets


def battery_group(http: httpx.Client) -> int:
    """The id of a new dynamic group of every battery (``kinds: [battery]``)."""
    group = http.post("/api/v1/groups", json={
        "name": "all batteries", "kind": "dynamic", "filter": {"kinds": ["battery"]}})  # fmt: skip
    group.raise_for_status()
    return int(group.json()["id"])
