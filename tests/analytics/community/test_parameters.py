"""Versioned parameters: the value in force, corrections recorded later, closed periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gridpilot.analytics.community.parameters import ParameterVersion, add_version, resolve
from gridpilot.core.errors import Conflict, ValidationFailed

NAME = "arera_valorisation_eur_per_mwh"


def version(value: str, start: date, end: date | None, recorded: datetime) -> ParameterVersion:
    return ParameterVersion(NAME, Decimal(value), start, end, recorded)


V2024 = version("8.00", date(2024, 1, 1), date(2025, 1, 1), datetime(2024, 1, 5, tzinfo=UTC))
V2025 = version("9.00", date(2025, 1, 1), None, datetime(2025, 1, 5, tzinfo=UTC))
HISTORY = (V2024, V2025)


def test_the_version_in_force_for_the_period_is_returned():
    assert resolve(HISTORY, date(2024, 12, 1), date(2025, 1, 1)) == {NAME: Decimal("8.00")}
    assert resolve(HISTORY, date(2025, 1, 1), date(2025, 2, 1)) == {NAME: Decimal("9.00")}


def test_a_change_inside_the_period_or_a_gap_is_refused():
    with pytest.raises(ValidationFailed, match="changes inside"):
        resolve(HISTORY, date(2024, 12, 15), date(2025, 1, 15))
    with pytest.raises(ValidationFailed, match="no version in force"):
        resolve(HISTORY, date(2023, 12, 1), date(2024, 1, 1))


def test_a_correction_recorded_later_wins_and_as_of_shows_what_was_known():
    fix = version("9.10", date(2025, 3, 1), None, datetime(2025, 3, 10, tzinfo=UTC))
    history = add_version(HISTORY, fix, closed_through=date(2025, 2, 28))
    assert resolve(history, date(2025, 3, 1), date(2025, 4, 1)) == {NAME: Decimal("9.10")}
    before = datetime(2025, 3, 9, tzinfo=UTC)
    assert resolve(history, date(2025, 3, 1), date(2025, 4, 1), as_of=before) == {
        NAME: Decimal("9.00")
    }
    assert resolve(history, date(2025, 2, 1), date(2025, 3, 1)) == {NAME: Decimal("9.00")}


def test_a_version_that_would_change_a_closed_month_is_refused():
    retro = version("9.50", date(2025, 1, 1), None, datetime(2025, 3, 10, tzinfo=UTC))
    with pytest.raises(Conflict, match=r"2025-01-01.*closed through 2025-02-28"):
        add_version(HISTORY, retro, closed_through=date(2025, 2, 28))
    late = version("9.50", date(2025, 2, 28), None, datetime(2025, 3, 10, tzinfo=UTC))
    with pytest.raises(Conflict, match="2025-02-28"):
        add_version(HISTORY, late, closed_through=date(2025, 2, 28))


def test_restating_the_closed_value_is_accepted():
    restated = version("9.00", date(2025, 1, 1), None, datetime(2025, 3, 10, tzinfo=UTC))
    history = add_version(HISTORY, restated, closed_through=date(2025, 2, 28))
    assert len(history) == 3


def test_versions_must_be_recorded_in_order():
    old = version("1.00", date(2026, 1, 1), None, datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationFailed, match="recorded_at"):
        add_version(HISTORY, old, closed_through=None)
