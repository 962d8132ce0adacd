"""What the tariffs and channels pages say, without a browser: versions in order with the site's
own tariff first, today's version, prices rounded half up with their currency, a test send's
outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from gridpilot.web import tariff_view as view
from gridpilot.web.pages.channels import delivery_text, outcome

DAY = 86_400_000


def _row(start: int, name: str, by: str = "user:1") -> Any:
    return SimpleNamespace(valid_from_ms=start, definition={"name": name}, created_by=by)


def test_the_site_tariff_comes_before_the_first_version_and_today_is_found():
    shown = view.history({"name": "site"}, [_row(10 * DAY, "v1"), _row(20 * DAY, "v2")])
    assert [(s.valid_from_ms, s.valid_to_ms, s.created_by) for s in shown] == [
        (0, 10 * DAY, None),
        (10 * DAY, 20 * DAY, "user:1"),
        (20 * DAY, None, "user:1"),
    ]
    assert [s.state(15 * DAY) for s in shown] == ["closed", "applies now", "upcoming"]
    assert view.current(shown, 15 * DAY) is shown[1]
    assert view.current(view.history(None, [_row(10 * DAY, "v1")]), 5 * DAY) is None
    assert view.history(None, []) == []
    # a version from the epoch replaces the site's tariff entirely
    assert len(view.history({"name": "site"}, [_row(0, "v0")])) == 1


def test_prices_are_rounded_half_up_with_currency_and_units():
    assert view.price(0.238, "EUR") == "0.238 EUR/kWh"
    assert view.price(0.12345, "EUR") == "0.1235 EUR/kWh"  # half up, not to even
    assert view.price("0.10005", "USD") == "0.1001 USD/kWh"
    assert view.price(None, "EUR") == "not set"
    assert view.charge(3.2, "EUR", "/kW") == "3.20 EUR/kW"
    assert view.charge(1234.565, "EUR", "/month") == "1,234.57 EUR/month"
    assert view.charge(0, "EUR", "/month") == "none"


def test_bands_and_charges_in_words():
    definition = {
        "currency": "eur",
        "periods": [
            {
                "name": "F1",
                "rate_per_kwh": 0.3,
                "days": "weekday",
                "start": "08:00",
                "end": "19:00",
            },
            {
                "name": "Night",
                "rate_per_kwh": 0.1,
                "days": ["sat", "holiday"],
                "start": "22:00",
                "end": "06:00",
            },
            {"rate_per_kwh": 0.2},
        ],
        "default_rate_per_kwh": 0.15,
        "export_rate_per_kwh": "0.105",
    }
    assert view.period_lines(definition) == [
        ("F1", "Mon-Fri, 08:00-19:00", "0.300 EUR/kWh"),
        ("Night", "Sat, holidays, 22:00-06:00", "0.100 EUR/kWh"),
        ("period3", "every day, all day", "0.200 EUR/kWh"),
        ("Otherwise", "any other time", "0.150 EUR/kWh"),
    ]
    assert view.charge_lines(definition)[-1] == ("Export earns", "0.105 EUR/kWh")


def _delivery(state: str, attempts: int, error: str | None = None, **extra: Any) -> Any:
    return (
        SimpleNamespace(
            id=1,
            state=state,
            attempts=attempts,
            last_error=error,
            event="alert.test",
            created_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
            recipients=None,
            note=None,
        )
        if not extra
        else SimpleNamespace(**{**vars(_delivery(state, attempts, error)), **extra})
    )


def test_a_test_sends_outcome_waits_for_the_first_attempt():
    assert outcome(_delivery("pending", 0)) is None
    assert outcome(_delivery("delivered", 1)) == "Delivered"
    assert outcome(_delivery("pending", 1, "SMTP is not configured")) == (
        "Attempt 1 failed, retrying: SMTP is not configured"
    )
    assert outcome(_delivery("failed", 5, "HTTP 500")) == "Failed: HTTP 500"
    assert outcome(None) is not None
    text = delivery_text(_delivery("pending", 2, "timeout"), "Europe/Rome")
    assert text == "alert.test · 2026-07-01 12:00 CEST · 2 attempts · timeout"
    held = _delivery("pending", 0, recipients=["ann@example.org"], note="held: quiet hours")
    assert delivery_text(held, "Europe/Rome") == (
        "alert.test · 2026-07-01 12:00 CEST · 0 attempts · to ann@example.org · held: quiet hours"
    )
