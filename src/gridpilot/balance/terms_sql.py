"""The balance terms as integer codes in SQL: the catalogue's metric-to-term mapping as rows,
the series' rank per term, and the picks and names by code (``balance/queries.py``,
``balance/stored_sql.py``).

Codes are a term's place in the sorted term names, so that the heavy part of a statement sorts
and groups integers and an order by code is the order by name.
"""

from __future__ import annotations

from gridpilot.assets.catalogue import ENERGY_TERMS, POWER_TERMS

#: Term names, sorted: a term's code is its place here.
TERM_NAMES: tuple[str, ...] = tuple(
    sorted(
        {t for m in ENERGY_TERMS.values() for t in m.values()}
        | {t for m in POWER_TERMS.values() for pair in m.values() for t in pair if t}
    )
)
CODES = range(len(TERM_NAMES))
#: A series' rank for a term: registers before power, then the catalogue's order.
RANK = "((1 - is_reg) * 1000 + prio)"


def coded_rows() -> list[str]:
    """``(role, key, positive term code, negative term code, is register, priority)`` rows of
    the catalogue, as SQL."""
    code = {name: i for i, name in enumerate(TERM_NAMES)}
    rows = [
        f"('{role}', '{key}', {code[term]}, NULL, 1, {prio})"
        for role, metrics in ENERGY_TERMS.items()
        for prio, (key, term) in enumerate(metrics.items())
    ]
    for role, metrics in POWER_TERMS.items():
        for prio, (key, (positive, negative)) in enumerate(metrics.items()):
            neg = str(code[negative]) if negative else "NULL"
            rows.append(f"('{role}', '{key}', {code[positive]}, {neg}, 0, {prio})")
    return rows


def by_code(column: str, prefix: str) -> str:
    """SQL picking the column ``<prefix><code>`` for the term code in ``column``."""
    return f"CASE {column} " + " ".join(f"WHEN {c} THEN {prefix}{c}" for c in CODES) + " END"


def term_name_sql(column: str) -> str:
    """SQL for the name of the term code in ``column``."""
    whens = " ".join(f"WHEN {c} THEN '{name}'" for c, name in enumerate(TERM_NAMES))
    return f"CASE {column} {whens} END"


def best_sql(window: str) -> str:
    """Select-list items ``best<code>``: per term code, the lowest ``RANK`` over ``window`` of
    the series feeding the term (positive or negative side)."""
    return ", ".join(
        f"MIN(CASE WHEN term_pos = {c} OR term_neg = {c} THEN {RANK} END) OVER {window} AS best{c}"
        for c in CODES
    )
