"""Solve the B-RTP QP: PIQP on the assembled matrices, set up once per job, re-solved per gamma."""

import logging
import time

import numpy as np
import piqp
import scipy.sparse as sp

from BRTP.errors import SolverError
from BRTP.options import BrtpOptions
from BRTP.qp import QpMatrices
from BRTP.solution import Solution

logger = logging.getLogger(__name__)


class PiqpSession:
    """One PIQP solver per job: factorisation structure set up once, only linear costs change per gamma.

    Gamma enters only the linear costs of ``z`` and ``n`` (spec §5), so
    :meth:`solve` calls ``update(c=...)`` and re-solves.
    """

    def __init__(self, qp: QpMatrices, options: BrtpOptions) -> None:
        self.qp = qp
        self.setup_seconds = 0.0
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
        started = time.perf_counter()
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
        self.setup_seconds = time.perf_counter() - started
        self._is_set_up = True

    def solve(self, gamma: float) -> Solution:
        """Solve ``Phi_gamma`` and return the unpacked solution with the link duals ``nu[t]``."""
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
        c, y, z, n, _ = qp.layout.unpack(x)
        nu = np.zeros(qp.layout.n_time)
        nu[qp.layout.n_slots] = np.asarray(result.z_u, dtype=np.float64) / qp.dt
        info = result.info
        logger.debug("PIQP gamma=%s solved in %d iterations, %.3f s", gamma, info.iter, seconds)
        return Solution(
            gamma=gamma,
            curtailment_kw=c,
            device_power_kw=y,
            flex_credit_kw=z,
            increase_kw=n,
            objective=qp.objective(x, gamma),
            link_dual=nu,
            status=status.name,
            solver="piqp",
            solve_seconds=seconds,
            solver_seconds=float(info.run_time),
            iterations=int(info.iter),
        )
