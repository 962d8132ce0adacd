"""The GSE payment estimate against the GSE's real statement, month by month.

The statement is read from CSV text (an export or a hand copy of the GSE portal's
"estratto conto"): a header with a month column (``mese``/``month``/``periodo``, as
``YYYY-MM``, ``MM/YYYY`` or ``YYYYMM``) and an amount column (``importo``/``amount``/
``totale``, decimal comma or point, EUR). Amounts are rounded half up to the cent; several
rows of one month are added up (the GSE may pay a month in instalments).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gridpilot.analytics.community.money import ZERO, to_cents
from gridpilot.core.errors import BadRequest

_MONTH_HEADERS = {"mese", "month", "periodo", "period", "competenza"}
_AMOUNT_HEADERS = {"importo", "amount", "totale", "total", "importo_eur", "amount_eur"}
_MONTH = (
    (re.compile(r"^(\d{4})-(\d{1,2})$"), (1, 2)),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), (2, 1)),
    (re.compile(r"^(\d{4})(\d{2})$"), (1, 2)),
)


class StatementError(BadRequest):
    """The statement CSV has bad rows; ``details`` lists ``{"line": n, "reason": ...}``."""

    code = "gse_statement_invalid"


def _month(text: str) -> str:
    t = text.strip()
    for pattern, (y, m) in _MONTH:
        found = pattern.match(t)
        if found and 1 <= int(found.group(m)) <= 12:
            return f"{int(found.group(y)):04d}-{int(found.group(m)):02d}"
    raise ValueError(f"not a month (YYYY-MM, MM/YYYY or YYYYMM): {text!r}")


def _amount(text: str) -> Decimal:
    t = text.strip().replace("€", "").replace(" ", "")
    if "," in t:
        t = t.replace(".", "").replace(",", ".")
    try:
        return to_cents(Decimal(t))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an amount: {text!r}") from None


def parse_statement(text: str) -> dict[str, Decimal]:
    """Month (``YYYY-MM``) -> amount paid [EUR], from statement CSV text."""
    lines = text.lstrip("\ufeff").splitlines()
    delimiter = ";" if lines and ";" in lines[0] else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [h.strip().lower() for h in (rows[0] if rows else [])]
    month_col = next((i for i, h in enumerate(header) if h in _MONTH_HEADERS), None)
    amount_col = next((i for i, h in enumerate(header) if h in _AMOUNT_HEADERS), None)
    if month_col is None or amount_col is None:
        raise StatementError(
            "line 1: the header needs a month column and an amount column",
            details=[{"line": 1, "reason": "no month or amount column"}],
        )
    out: dict[str, Decimal] = {}
    errors: list[dict[str, object]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            if len(row) <= max(month_col, amount_col):
                raise ValueError(f"{len(row)} fields")
            month = _month(row[month_col])
            out[month] = out.get(month, ZERO) + _amount(row[amount_col])
        except ValueError as exc:
            errors.append({"line": line_no, "reason": str(exc)})
    if errors:
        shown = "; ".join(f"line {e['line']}: {e['reason']}" for e in errors[:5])
        raise StatementError(f"GSE statement has bad rows: {shown}", details=errors)
    return out


@dataclass(frozen=True)
class MonthDifference:
    """``difference_eur = paid - estimated``; ``None`` on the side that has no figure."""

    month: str
    estimated_eur: Decimal | None
    paid_eur: Decimal | None
    difference_eur: Decimal | None
    difference_pct: Decimal | None  # of the estimate, to 0.01 %


def reconcile(
    estimated_eur: Mapping[str, Decimal], paid_eur: Mapping[str, Decimal]
) -> list[MonthDifference]:
    """Per month (sorted), the estimate, what the GSE paid and the difference."""
    out = []
    for month in sorted(set(estimated_eur) | set(paid_eur)):
        est, paid = estimated_eur.get(month), paid_eur.get(month)
        diff = pct = None
        if est is not None and paid is not None:
            diff = paid - est
            pct = to_cents(diff * 100 / est) if est else None
        out.append(MonthDifference(month, est, paid, diff, pct))
    return out
