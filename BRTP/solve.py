"""The two ways to solve one gamma's QP, behind one interface: ``solver.solve(gamma) -> Solution``.

- :class:`PiqpSolver` (production): the matrices of :mod:`BRTP.matrices`
  handed to PIQP, set up once per problem; per gamma only the linear costs
  change (spec §5).
- :class:`HighsReference` (cross-check on small portfolios): the readable
  Pyomo model of :mod:`BRTP.model` solved by HiGHS through
  ``SolverFactory('highs')``; slow on large portfolios.

Both raise :class:`~BRTP.errors.SolverError` naming the solver's status when
it is not optimal.
"""

import logging
import time
from typing import Protocol

import numpy as np
import piqp
import scipy.sparse as sp

from BRTP.errors import InvalidInputError, SolverError
from BRTP.matrices import assemble_qp
from BRTP.options import BrtpOptions
from BRTP.problem import PricingProblem
from BRTP.solution import Solution

logger = logging.getLogger(__name__)


class GammaSolver(Protocol):
    """Solves the problem it was built for at one gamma."""

    def solve(self, gamma: float) -> Solution:
        """``argmin Phi_gamma`` (spec §5) as a :class:`Solution`."""


class PiqpSolver:
    """PIQP on the assembled matrices: factorisation structure set up once, linear costs updated per gamma."""

    def __init__(self, problem: PricingProblem, options: BrtpOptions) -> None:
        self.qp = assemble_qp(problem)
        self._solver = piqp.SparseSolver()
        settings = self._solver.settings
        settings.eps_abs = options.eps_abs
        settings.eps_rel = options.eps_rel
        settings.eps_duality_gap_abs = options.eps_gap_abs
        settings.eps_duality_gap_rel = options.eps_gap_rel
        settings.max_iter = options.max_iter
        settings.compute_timings = True
        self._is_set_up = False

    def _setup(self, costs: np.ndarray) -> None:
        qp = self.qp
        has_link = qp.g_ineq.shape[0] > 0
        self._solver.setup(
            sp.diags(qp.p_diag, format="csc"),
            costs,
            qp.a_eq,
            qp.b_eq,
            qp.g_ineq if has_link else None,
            None,
            qp.h_ineq if has_link else None,
            qp.lower,
            qp.upper,
        )
        self._is_set_up = True

    def solve(self, gamma: float) -> Solution:
        """Solve ``Phi_gamma``; the solution carries the link duals ``nu[t]`` (per hour of slot)."""
        qp = self.qp
        costs = qp.linear_costs(gamma)
        started = time.perf_counter()
        if self._is_set_up:
            self._solver.update(c=costs)
        else:
            self._setup(costs)
        status = self._solver.solve()
        seconds = time.perf_counter() - started
        if status != piqp.PIQP_SOLVED:
            raise SolverError(f"PIQP ended with {status.name} for gamma={gamma}")
        result = self._solver.result
        x = np.asarray(result.x, dtype=np.float64)
        columns = qp.layout.unpack(x)
        nu = np.zeros(qp.layout.n_time)
        nu[qp.layout.link_slots] = np.asarray(result.z_u, dtype=np.float64) / qp.dt
        info = result.info
        logger.debug("solve.piqp", extra={"gamma": gamma, "iterations": int(info.iter), "seconds": round(seconds, 4)})
        return Solution(
            gamma=gamma,
            curtailment_kw=columns.c,
            device_power_kw=columns.y,
            flex_credit_kw=columns.z,
            increase_kw=columns.n,
            objective=qp.objective(x, gamma),
            link_dual=nu,
            status=status.name,
            solver="piqp",
            solve_seconds=seconds,
            solver_seconds=float(info.run_time),
            iterations=int(info.iter),
        )


class HighsReference:
    """The Pyomo reference model solved by HiGHS: built once, ``gamma`` is a mutable parameter."""

    def __init__(self, problem: PricingProblem) -> None:
        try:  # the reference solver is an extra: pip install 'flexgrid-pricing[reference]'
            import pyomo.environ

            from BRTP.model import build_model
        except ImportError as exc:
            raise InvalidInputError(
                "the reference solver needs Pyomo and HiGHS: pip install 'flexgrid-pricing[reference]'"
            ) from exc
        self.pyo = pyomo.environ
        self.problem = problem
        self.model = build_model(problem)

    def solve(self, gamma: float) -> Solution:
        """Solve ``Phi_gamma`` with HiGHS; no duals are read (``link_dual`` is None)."""
        from BRTP.model import extract_solution

        pyo, m = self.pyo, self.model
        m.gamma.set_value(gamma)
        started = time.perf_counter()
        results = pyo.SolverFactory("highs").solve(m, load_solutions=False)
        seconds = time.perf_counter() - started
        condition = results.solver.termination_condition
        if condition != pyo.TerminationCondition.optimal:
            raise SolverError(f"HiGHS ended with {condition} for gamma={gamma}")
        m.solutions.load_from(results)
        return extract_solution(m, self.problem, status=str(condition), solver="highs", seconds=seconds)


def make_solver(problem: PricingProblem, options: BrtpOptions) -> GammaSolver:
    """The solver ``options.solver`` names, set up for ``problem``."""
    if options.solver == "highs":
        return HighsReference(problem)
    return PiqpSolver(problem, options)
