"""The site energy report against the KPI API (both back ends): the totals of the CSV and the
PDF equal ``GET /api/v1/kpis`` to the displayed precision; files, content types, names."""

from __future__ import annotations

import csv
import io

import pytest
from tests.reports.pdf_text import pdf_strings
from tests.reports.report_data import END, START, define, make_plant, run

from gridpilot.reports.document import fmt


@pytest.fixture
async def plant(app, client, sessions, auth_headers):
    return await make_plant(app, client, sessions, auth_headers)


def figures(csv_bytes: bytes) -> dict[str, tuple[str, str]]:
    """``key -> (value, unit)`` of the CSV's figure block."""
    assert csv_bytes.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    header = rows.index(["section", "key", "label", "value", "unit"])
    found = {}
    for row in rows[header + 1 :]:
        if not row:
            break
        found[row[1]] = (row[3], row[4])
    return found


async def test_csv_and_pdf_totals_equal_the_kpi_api(client, plant):
    report = await define(client, plant.admin, plant.site_id)
    done = await run(client, plant.admin, report["id"], start=START, end=END)
    assert done["status"] == "done", done["error"]
    assert done["hours"] == 71.0  # 3 local days, one of 23 h
    kpis = await client.get(
        "/api/v1/kpis",
        params={"site": plant.site_id, "start": START, "end": END, "interval": "15m"},
        headers=plant.admin,
    )
    k = kpis.json()["kpis"]
    got = await client.get(f"/api/v1/reports/runs/{done['id']}/files/csv", headers=plant.admin)
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    table = figures(got.content)
    # hand-computed: consumer k draws 10k kW for 10 h and 2k kW for the other hours of each day
    # (71 h): 60 kW x 30 h + 12 kW x 41 h = 2,292 kWh
    assert table["energy_kwh"] == ("2292.0", "kWh")
    assert table["energy_kwh"][0] == fmt(k["energy_kwh"]["value"], 1)
    assert table["peak_demand_kw"] == (fmt(k["peak_demand_kw"]["value"], 2), "kW")
    assert table["peak_demand_kw"][0] == "60.00"
    assert table["load_factor"][0] == fmt(k["load_factor"]["value"], 3)
    assert table["carbon_kg"][0] == fmt(k["carbon_kg"]["value"], 1)
    assert table["cost"] == (f"{k['cost']['value']:.2f}", "EUR")
    # first peak at 08:00 local on the 28th (+01:00)
    assert table["peak_at"][0] == "2026-03-28 08:00 +01:00"
    # by hand: night 276 kWh x 0.11 + day 2,016 kWh x 0.23 + 3 local days x 1.50 EUR
    assert table["energy_cost"] == ("494.04", "EUR")
    assert table["fixed_cost"] == ("4.50", "EUR")
    assert table["cost"] == ("498.54", "EUR")
    pdf = await client.get(f"/api/v1/reports/runs/{done['id']}/files/pdf", headers=plant.admin)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    shown = pdf_strings(pdf.content)
    assert "Roma Società · Europe/Rome" in shown  # the TrueType font prints à
    assert shown[shown.index("Consumption") + 1] == "2,292.0 kWh"
    assert shown[shown.index("Peak demand") + 1] == "60.00 kW"
    assert shown[shown.index("Peak at (local time)") + 1] == "2026-03-28 08:00 +01:00"
    assert shown[shown.index("Load factor") + 1] == table["load_factor"][0]
    assert shown[shown.index("Cost of grid import") + 1] == "498.54 EUR"
    assert shown[shown.index("CO2 of grid import") + 1] == f"{k['carbon_kg']['value']:,.1f} kg"
    disposition = pdf.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="site-energy-roma-societ')
    assert disposition.endswith(f'-2026-03-28-run{done["id"]}.pdf"')


async def test_cost_by_tariff_period_and_daily_trend(client, plant):
    report = await define(client, plant.admin, plant.site_id, formats=["csv"])
    done = await run(client, plant.admin, report["id"], start=START, end=END)
    assert [f["format"] for f in done["files"]] == ["csv"]
    body = (await client.get(done["files"][0]["url"], headers=plant.admin)).content.decode(
        "utf-8-sig"
    )
    lines = body.splitlines()
    # the night band 00:00-08:00: 8 h x 12 kW a day, but 7 h on the 23-hour day 29 March
    night = next(line for line in lines if line.startswith("night,"))
    assert night.split(",")[1] == "276.0"  # 12 kW x (8 + 7 + 8) h
    days = lines[lines.index("# table,daily_trend,Energy per day") + 2 :][:3]
    assert [d.split(",")[0] for d in days] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]
    # 60 kW x 10 h + 12 kW x 14 h = 768 kWh; the 23-hour day 12 kWh less
    assert [d.split(",")[1] for d in days] == ["768.0", "756.0", "768.0"]
    consumers = lines[lines.index("# table,top_consumers,Top 10 consumers") + 2 :][:3]
    assert [c.split(",")[0] for c in consumers] == ["Line 3", "Line 2", "Line 1"]
    assert "2026-03-29T12:00:00+02:00,warning,resolved,Line 3 power high" in lines
