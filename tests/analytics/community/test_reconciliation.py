"""The GSE statement against the estimate, month by month."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridpilot.analytics.community.reconciliation import StatementError, parse_statement, reconcile

D = Decimal


def test_statement_rows_are_summed_per_month():
    text = "Mese;Importo\n2025-01;120,50\n01/2025;10,00\n202502;1.005,25\n"
    assert parse_statement(text) == {"2025-01": D("130.50"), "2025-02": D("1005.25")}


def test_bad_statement_rows_have_line_numbers():
    with pytest.raises(StatementError) as caught:
        parse_statement("month,amount\n2025-13,1\n2025-01,abc\n")
    assert [e["line"] for e in caught.value.details] == [2, 3]


def test_differences_per_month_and_months_on_one_side_only():
    rows = reconcile(
        {"2025-01": D("200.00"), "2025-02": D("150.00")},
        {"2025-01": D("190.00"), "2025-03": D("20.00")},
    )
    assert [(r.month, r.difference_eur, r.difference_pct) for r in rows] == [
        ("2025-01", D("-10.00"), D("-5.00")),
        ("2025-02", None, None),
        ("2025-03", None, None),
    ]
    assert rows[1].estimated_eur == D("150.00") and rows[1].paid_eur is None
