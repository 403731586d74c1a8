"""The ways to solve one gamma's QP, behind one interface: ``solver.solve(gamma) -> Solution``.

- :class:`CertifiedSolver` (production): the structure-exploiting
  interior-point method of :mod:`BRTP.interior_point` (a T x T system per
  iteration), and PIQP on the matrices of :mod:`BRTP.matrices` as the
  fallback; an answer is returned only when :mod:`BRTP.certificate` certifies
  it. Per gamma only the linear costs change (spec §5).
- :class:`HighsReference` (cross-check on small portfolios): the readable
  Pyomo model of :mod:`BRTP.model` solved by HiGHS through
  ``SolverFactory('highs')``; slow on large portfolios.

Both raise :class:`~BRTP.errors.SolverError` naming the solver's status when
it is not optimal.
"""

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import piqp
import scipy.sparse as sp

from BRTP.certificate import Certificate, certify
from BRTP.errors import InvalidInputError, SolverError
from BRTP.interior_point import SlotSchurIpm
from BRTP.matrices import QpMatrices, assemble_qp
from BRTP.options import BrtpOptions
from BRTP.problem import PricingProblem
from BRTP.solution import Solution

logger = logging.getLogger(__name__)


class GammaSolver(Protocol):
    """Solves the problem it was built for at one gamma; safe to call from several threads."""

    def solve(self, gamma: float) -> Solution:
        """``argmin Phi_gamma`` (spec §5) as a :class:`Solution`."""


@dataclass(frozen=True)
class Answer:
    """What a matrix solver returns for one gamma: the point, its row duals and how it got there."""

    x: np.ndarray
    eq_duals: np.ndarray
    link_duals: np.ndarray
    solver: str
    status: str
    iterations: int
    solver_seconds: float


class PiqpRun:
    """PIQP on the assembled matrices: factorisation structure set up once, linear costs updated per gamma."""

    name = "piqp"

    def __init__(self, qp: QpMatrices, options: BrtpOptions) -> None:
        self.qp = qp
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

    def answer(self, gamma: float) -> Answer:
        """Solve; PIQP's duals in this project's sign convention (``g = Px + q - A'lambda``)."""
        costs = self.qp.linear_costs(gamma)
        if self._is_set_up:
            self._solver.update(c=costs)
        else:
            self._setup(costs)
        status = self._solver.solve()
        if status != piqp.PIQP_SOLVED:
            raise SolverError(f"PIQP ended with {status.name} for gamma={gamma}")
        result = self._solver.result
        n_link = self.qp.g_ineq.shape[0]
        return Answer(
            x=np.asarray(result.x, dtype=np.float64),
            eq_duals=-np.asarray(result.y, dtype=np.float64),
            link_duals=-np.asarray(result.z_u, dtype=np.float64)[:n_link] if n_link else np.zeros(0),
            solver="piqp",
            status=status.name,
            iterations=int(result.info.iter),
            solver_seconds=float(result.info.run_time),
        )


class SchurIpmRun:
    """The structure-exploiting interior-point method of :mod:`BRTP.interior_point`."""

    name = "schur-ipm"

    def __init__(self, problem: PricingProblem, qp: QpMatrices, anchored: bool, threads: int) -> None:
        self.method = SlotSchurIpm(problem, qp, anchored=anchored, threads=threads)
        self.qp = qp

    def answer(self, gamma: float) -> Answer:
        """Solve from the method's start for ``gamma`` (the same point whatever was solved before)."""
        started = time.perf_counter()
        point = self.method.solve(gamma)
        n_eq = self.qp.a_eq.shape[0]
        return Answer(
            x=point.x,
            eq_duals=point.row_duals[:n_eq],
            link_duals=point.row_duals[n_eq:],
            solver="schur-ipm",
            status="SOLVED",
            iterations=point.iterations,
            solver_seconds=time.perf_counter() - started,
        )


class CertifiedSolver:
    """Solves with the first method whose answer passes the certificate (:mod:`BRTP.certificate`).

    The structure-exploiting interior-point method first, PIQP (on the same
    matrices) when it fails or is not certified. A solution is returned only
    when certified; otherwise :class:`SolverError` says which check failed by
    how much for each method. (Infeasible data never gets here: the parsers
    refuse a device whose energy cannot fit before its deadline, the only way
    this QP can be infeasible.)

    Safe to call from several threads: the interior-point method keeps no state
    between solves but its anchors (computed once, under a lock); PIQP (one
    solver object, updated per gamma) runs one at a time.
    """

    def __init__(self, problem: PricingProblem, options: BrtpOptions) -> None:
        self.problem = problem
        self.options = options
        self.qp = assemble_qp(problem)
        self._runs: dict[str, SchurIpmRun | PiqpRun] = {}
        self._setting_up = threading.Lock()
        self._piqp_turn = threading.Lock()

    def _answer(self, name: str, gamma: float) -> Answer:
        with self._setting_up:
            if name not in self._runs:
                fresh = (
                    SchurIpmRun(self.problem, self.qp, self.options.anchored_starts, self.options.threads)
                    if name == "schur-ipm"
                    else PiqpRun(self.qp, self.options)
                )
                self._runs[name] = fresh
            run = self._runs[name]
        if isinstance(run, PiqpRun):
            with self._piqp_turn:
                return run.answer(gamma)
        return run.answer(gamma)

    def solve(self, gamma: float) -> Solution:
        """The certified solution of ``Phi_gamma``."""
        started = time.perf_counter()
        problems: list[str] = []
        order = ("schur-ipm", "piqp") if self.options.solver == "ipm" else ("piqp", "schur-ipm")
        for name in order:
            try:
                answer = self._answer(name, gamma)
            except SolverError as exc:
                problems.append(f"{name}: {exc}")
                continue
            certificate = certify(self.qp, gamma, answer.x, answer.eq_duals, answer.link_duals)
            if certificate.ok:
                return self._solution(gamma, answer, time.perf_counter() - started, certificate)
            problems.append(f"{name}: not certified ({certificate.failure()})")
            logger.warning("solve.not_certified", extra={"gamma": gamma, "solver": name, "why": certificate.failure()})
        raise SolverError(f"no certified solution for gamma={gamma}: " + "; ".join(problems))

    def _solution(self, gamma: float, answer: Answer, seconds: float, certificate: Certificate) -> Solution:
        qp = self.qp
        layout = qp.layout
        nu = np.zeros(qp.layout.n_time)
        nu[qp.layout.link_slots] = -answer.link_duals / qp.dt
        logger.debug(
            "solve.certified",
            extra={"gamma": gamma, "solver": answer.solver, "iterations": answer.iterations, "gap": certificate.gap},
        )
        return Solution(
            gamma=gamma,
            curtailment_kw=layout.dense(answer.x, "c"),
            device_power=layout.cell_values(answer.x, "y"),
            flex_credit_kw=layout.dense(answer.x, "z"),
            increase_kw=layout.dense(answer.x, "n"),
            objective=qp.objective(answer.x, gamma),
            link_dual=nu,
            status=answer.status,
            solver=answer.solver,
            solve_seconds=seconds,
            solver_seconds=answer.solver_seconds,
            iterations=answer.iterations,
        )


class HighsReference:
    """The Pyomo reference model solved by HiGHS: built once, ``gamma`` is a mutable parameter.

    Safe to call from several threads: the one model solves one gamma at a time.
    """

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
        self._turn = threading.Lock()

    def solve(self, gamma: float) -> Solution:
        """Solve ``Phi_gamma`` with HiGHS; no duals are read (``link_dual`` is None)."""
        from BRTP.model import extract_solution

        pyo, m = self.pyo, self.model
        with self._turn:
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
    """The solver ``options.solver`` names, set up for ``problem``: ``ipm`` (default) and ``piqp`` are certified."""
    if options.solver == "highs":
        return HighsReference(problem)
    return CertifiedSolver(problem, options)
