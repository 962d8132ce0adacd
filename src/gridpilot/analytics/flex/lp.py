"""A small sparse LP/MILP builder over HiGHS: blocks of columns, rows from index arrays.

Columns are added in vectorised blocks (``add_columns`` returns their indices); a row is a
list of (column indices, coefficients) pairs with bounds. ``solve`` passes the model in one
``HighsLp`` (compressed sparse columns), which is much faster than adding rows one by one
through highspy's modelling layer for the few thousand rows of a day-ahead plan.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

INF = highspy.kHighsInf
IntArray = NDArray[np.int64]
#: (column index per row, coefficient per row) of ``LpBuilder.add_rows``.
Term = tuple[ArrayLike, ArrayLike]


@dataclass(frozen=True)
class LpSolution:
    """What HiGHS answered: ``status`` (``optimal``, ``infeasible``, ``time_limit``, ...),
    ``values`` of the columns (None without a primal solution), objective and wall time [s]."""

    status: str
    values: NDArray[np.float64] | None
    objective: float
    solve_time_s: float


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kModelEmpty: "optimal",
}


#: Measured on day-ahead plans (96 steps, battery, EV, on/off and one-block loads): their LP
#: relaxation is usually tight, and HiGHS's presolve (probing) plus root cuts cost seconds
#: before a rounding heuristic finds the optimum; without presolve and with the cheap
#: zero-integrality and shifting heuristics it takes 0.1-0.3 s of CPU. Feasibility jump and
#: symmetry detection find nothing on these models: another 25 % off (bench/optimise.py).
MIP_OPTIONS: dict[str, str | bool] = {
    "presolve": "off",
    "mip_heuristic_run_zi_round": True,
    "mip_heuristic_run_shifting": True,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_detect_symmetry": False,
}


class LpBuilder:
    """Collects columns (bounds, cost, integrality) and rows (triplets, bounds)."""

    def __init__(self) -> None:
        self._lower: list[NDArray[np.float64]] = []
        self._upper: list[NDArray[np.float64]] = []
        self._cost: list[NDArray[np.float64]] = []
        self._integer: list[NDArray[np.bool_]] = []
        self.num_cols = 0
        self._rows: list[IntArray] = []
        self._cols: list[IntArray] = []
        self._vals: list[NDArray[np.float64]] = []
        self._row_lower: list[NDArray[np.float64]] = []
        self._row_upper: list[NDArray[np.float64]] = []
        self.num_rows = 0

    def add_columns(
        self,
        n: int,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = INF,
        cost: ArrayLike = 0.0,
        integer: bool = False,
    ) -> IntArray:
        """Add ``n`` columns; bounds and cost broadcast from scalars. Returns their indices."""
        self._lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy())
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy())
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy())
        self._integer.append(np.full(n, integer))
        index = np.arange(self.num_cols, self.num_cols + n, dtype=np.int64)
        self.num_cols += n
        return index

    def add_rows(
        self,
        terms: Sequence[Term],
        lower: ArrayLike,
        upper: ArrayLike,
    ) -> IntArray:
        """Add ``m`` rows at once: each term is (column index per row, coefficient per row),
        both of length ``m`` (or a scalar coefficient). Row i is sum over terms of
        coeff[i] * x[col[i]], bounded by ``lower[i]`` .. ``upper[i]``."""
        lower_a = np.atleast_1d(np.asarray(lower, dtype=np.float64))
        upper_a = np.atleast_1d(np.asarray(upper, dtype=np.float64))
        m = max(lower_a.size, upper_a.size, *(np.size(c) for c, _ in terms))
        rows = np.arange(self.num_rows, self.num_rows + m, dtype=np.int64)
        for cols, coeffs in terms:
            self._rows.append(rows)
            self._cols.append(np.broadcast_to(np.asarray(cols, dtype=np.int64), (m,)))
            self._vals.append(np.broadcast_to(np.asarray(coeffs, dtype=np.float64), (m,)))
        self._row_lower.append(np.broadcast_to(lower_a, (m,)).copy())
        self._row_upper.append(np.broadcast_to(upper_a, (m,)).copy())
        self.num_rows += m
        return rows

    def add_sum_row(self, cols: ArrayLike, coeffs: ArrayLike, lower: float, upper: float) -> int:
        """Add one row ``lower <= sum coeffs[j] * x[cols[j]] <= upper``; returns its index."""
        cols_a = np.asarray(cols, dtype=np.int64).reshape(-1)
        row = self.num_rows
        self._rows.append(np.full(cols_a.size, row, dtype=np.int64))
        self._cols.append(cols_a)
        self._vals.append(np.broadcast_to(np.asarray(coeffs, dtype=np.float64), cols_a.shape))
        self._row_lower.append(np.array([lower], dtype=np.float64))
        self._row_upper.append(np.array([upper], dtype=np.float64))
        self.num_rows += 1
        return row

    @property
    def has_integers(self) -> bool:
        return bool(self._integer) and bool(np.concatenate(self._integer).any())

    def to_highs_lp(self) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_ = self.num_cols
        lp.num_row_ = self.num_rows
        lp.col_cost_ = np.concatenate(self._cost)
        lp.col_lower_ = np.concatenate(self._lower)
        lp.col_upper_ = np.concatenate(self._upper)
        lp.row_lower_ = np.concatenate(self._row_lower) if self._row_lower else np.empty(0)
        lp.row_upper_ = np.concatenate(self._row_upper) if self._row_upper else np.empty(0)
        if self._rows:
            rows, cols = np.concatenate(self._rows), np.concatenate(self._cols)
            matrix = sparse.csc_matrix(
                (np.concatenate(self._vals), (rows, cols)),
                shape=(self.num_rows, self.num_cols),
            )
            matrix.sum_duplicates()
            matrix.eliminate_zeros()
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_ = matrix.indptr
            lp.a_matrix_.index_ = matrix.indices
            lp.a_matrix_.value_ = matrix.data
        else:
            lp.a_matrix_.start_ = np.zeros(self.num_cols + 1, dtype=np.int64)
        if self.has_integers:
            kinds = np.concatenate(self._integer)
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
                for k in kinds
            ]
        return lp

    def solve(
        self,
        time_limit_s: float = 10.0,
        mip_rel_gap: float = 5e-4,
        mip_abs_gap: float = 0.01,
    ) -> LpSolution:
        """Minimise with HiGHS (silent, one thread); never raises on a solver status. A MIP
        stops within ``mip_rel_gap`` (relative) or ``mip_abs_gap`` (objective units, EUR
        here) of the optimum, whichever comes first."""
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("time_limit", float(time_limit_s))
        highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        highs.setOptionValue("mip_abs_gap", float(mip_abs_gap))
        if self.has_integers:
            for option, value in MIP_OPTIONS.items():
                highs.setOptionValue(option, value)
        started = time.perf_counter()
        if highs.passModel(self.to_highs_lp()) == highspy.HighsStatus.kError:
            return LpSolution("model_error", None, float("nan"), time.perf_counter() - started)
        highs.run()
        elapsed = time.perf_counter() - started
        status = _STATUS.get(highs.getModelStatus(), "error")
        info = highs.getInfo()
        has_primal = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        if not (has_primal and status in ("optimal", "time_limit", "iteration_limit")):
            return LpSolution(status, None, float("nan"), elapsed)
        values = np.asarray(highs.getSolution().col_value)
        return LpSolution(status, values, float(info.objective_function_value), elapsed)
