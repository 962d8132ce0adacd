"""A member's monthly statement as CSV, rendered from the stored settlement only (so its
totals are the API's, to the cent, and a closed month's statement never changes).

Rows ``section,item,value,unit`` (comma-separated, decimal point, UTF-8): the period and
status, the member's energy (consumption in the sharing hours, shared energy of their plants),
one block per plant, the member's benefit parts and total, then the community's totals.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from gridpilot.community.models import Settlement
from gridpilot.core.errors import NotFound


def _member_part(settlement: Settlement, member_id: int) -> dict[str, Any]:
    for part in settlement.result["members"]:
        if part["member_id"] == member_id:
            return dict(part)
    raise NotFound(f"member {member_id} has no part in settlement {settlement.id}")


Row = tuple[str, str, object, str]


def statement_rows(settlement: Settlement, member_id: int, member_name: str) -> list[Row]:
    """The statement of ``member_id`` as rows (``NotFound`` if it has no part in it)."""
    part = _member_part(settlement, member_id)
    plants = [p for p in settlement.result["plants"] if p["member_id"] == member_id]
    return _rows(settlement, part, plants, member_name)


def statements_rows(settlement: Settlement, names: dict[int, str]) -> dict[int, list[Row]]:
    """The statements of the members ``names`` (id -> name) from one pass over the settlement
    (``NotFound`` for a member without a part in it)."""
    parts = {int(p["member_id"]): p for p in settlement.result["members"]}
    plants: dict[int, list[dict[str, Any]]] = {}
    for plant in settlement.result["plants"]:
        plants.setdefault(int(plant["member_id"]), []).append(plant)
    out = {}
    for member_id, name in names.items():
        if member_id not in parts:
            raise NotFound(f"member {member_id} has no part in settlement {settlement.id}")
        out[member_id] = _rows(settlement, dict(parts[member_id]), plants.get(member_id, []), name)
    return out


def _rows(
    settlement: Settlement, part: dict[str, Any], plants: list[dict[str, Any]], name: str
) -> list[Row]:
    member_id = part["member_id"]
    period = f"{settlement.year:04d}-{settlement.month:02d}"
    rows: list[Row] = [
        ("statement", "member", name, ""),
        ("statement", "member_id", member_id, ""),
        ("statement", "period", period, "Europe/Rome month"),
        ("statement", "settlement_id", settlement.id, ""),
        ("statement", "status", settlement.status, ""),
        ("energy", "consumption_in_sharing_hours", part["consumption_kwh"], "kWh"),
        ("energy", "shared_by_own_plants", part["produced_shared_kwh"], "kWh"),
    ]
    for plant in plants:
        pod = plant["pod_code"]
        rows += [
            (f"plant {pod}", "injected", plant["injected_kwh"], "kWh"),
            (f"plant {pod}", "shared", plant["shared_kwh"], "kWh"),
            (f"plant {pod}", "incentive", plant["incentive_eur"], "EUR"),
        ]
    rows += [
        ("benefit", "producer", part["producer_eur"], "EUR"),
        ("benefit", "consumer", part["consumer_eur"], "EUR"),
        ("benefit", "excess_share", part["excess_eur"], "EUR"),
        ("benefit", "total", part["total_eur"], "EUR"),
        ("community", "gse_estimate", str(settlement.gse_estimate_eur), "EUR"),
        ("community", "incentive", str(settlement.incentive_eur), "EUR"),
        ("community", "valorisation", str(settlement.valorisation_eur), "EUR"),
    ]
    rows += [("community", f"fee {k}", v, "EUR") for k, v in settlement.result["fees_eur"].items()]
    rows += [("community", "reserve", settlement.result["reserve_eur"], "EUR")]
    return rows


def render_csv(rows: list[Row]) -> str:
    """Statement rows as CSV text with its header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "value", "unit"))
    writer.writerows(rows)
    return out.getvalue()
