"""The forecast page's chart: consumption and generation apart, each with its own bands."""

from __future__ import annotations

from gridpilot.insights.forecasts.schemas import ForecastOut, ForecastPoint
from gridpilot.web.pages.forecast import Quantity, band_chart


def forecast(quantity: str, yhat: float, capacity: float | None = None) -> ForecastOut:
    point = ForecastPoint(
        ts="2026-12-04T12:00:00Z", yhat=yhat, lo80=yhat - 2, hi80=yhat + 3, lo95=yhat - 4,
        hi95=yhat + 6,
    )  # fmt: skip
    return ForecastOut(
        site_id=1, asset_id=None, quantity=quantity, metric="power_kw",  # type: ignore[arg-type]
        issued_at="2026-12-04T11:55:00Z", step_s=900, horizon=1, source="computed",
        seasonality=["daily"], regressors=[], calibrated=True, capacity_kw=capacity,
        points=[point],
    )  # fmt: skip


def test_two_quantities_get_their_own_lines_and_bands() -> None:
    measured = [[1_796_385_600_000, 40.0]]
    chart = band_chart(
        [
            Quantity("consumption", measured, forecast("consumption", 40.0)),
            Quantity("generation", [[1_796_385_600_000, 20.0]], forecast("generation", 20.0, 60)),
        ]
    )
    by_name = {s["name"]: s for s in chart["series"]}
    assert by_name["Consumption forecast"]["data"] == [[1_796_385_600_000, 40.0]]
    assert by_name["Generation forecast"]["data"] == [[1_796_385_600_000, 20.0]]
    # a band is a hidden low line plus the width stacked on it, per quantity
    assert by_name["Generation 95 low"]["data"][0][1] == 16.0
    assert by_name["Generation 95 %"]["data"][0][1] == 10.0
    assert by_name["Generation 95 %"]["stack"] == "Generation 95"
    assert by_name["Consumption 80 %"]["stack"] == "Consumption 80"
    assert by_name["Consumption 80 %"]["data"][0][1] == 5.0
    assert by_name["Consumption measured"]["data"] == measured
    assert chart["yAxis"]["min"] == 0


def test_a_quantity_without_forecast_shows_its_measurements_only() -> None:
    chart = band_chart([Quantity("generation", [[0, 1.0]], None)])
    assert [s["name"] for s in chart["series"]] == ["Generation measured"]
    assert chart["legend"]["data"] == ["Generation measured"]
