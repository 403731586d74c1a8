"""Is a returned solution optimal? The QP's own optimality conditions, checked on the solver's answer.

For ``min 1/2 x'Px + q'x`` s.t. ``Ax = b``, ``Gx <= h``, ``l <= x <= u``
(:class:`~BRTP.matrices.QpMatrices`) with row duals ``lambda`` (equalities)
and ``lambda_G <= 0`` (the link rows), the reduced gradient
``g = Px + q - A'lambda - G'lambda_G`` gives the bound duals ``z_l = g+`` and
``z_u = g-``. A solution is certified when, relative to the problem's scale:

- **primal**: ``|Ax - b|``, ``(Gx - h)+`` and bound violations are small;
- **dual**: ``g`` is 0 on free variables, ``>= 0`` where there is no upper
  bound, ``<= 0`` where there is no lower bound, and ``lambda_G <= 0``;
- **complementarity** (which is the duality gap here):
  ``sum z_l (x - l) + z_u (u - x) + |lambda_G| (h - Gx)`` is small next to the objective.

Only the solver's primal point and row duals are used, so every solver is judged the same way.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from BRTP.matrices import QpMatrices

FloatArray = NDArray[np.float64]

#: Relative tolerances a certified solution meets (see ``docs/model.md`` §5).
PRIMAL_TOLERANCE = 1e-7
DUAL_TOLERANCE = 1e-7
GAP_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Certificate:
    """The worst relative violation of each optimality condition."""

    primal: float
    dual: float
    gap: float

    @property
    def ok(self) -> bool:
        """True if every condition holds within its tolerance."""
        return self.primal <= PRIMAL_TOLERANCE and self.dual <= DUAL_TOLERANCE and self.gap <= GAP_TOLERANCE

    def failure(self) -> str:
        """Which checks failed, by how much (empty when certified)."""
        checks = (("primal feasibility", self.primal, PRIMAL_TOLERANCE), ("stationarity", self.dual, DUAL_TOLERANCE),
                  ("complementarity (duality gap)", self.gap, GAP_TOLERANCE))  # fmt: skip
        return "; ".join(f"{name} {value:.2e} > {limit:.0e}" for name, value, limit in checks if value > limit)


def certify(qp: QpMatrices, gamma: float, x: FloatArray, eq_duals: FloatArray, link_duals: FloatArray) -> Certificate:
    """Check ``x`` with the row duals ``eq_duals`` (energy, then balance rows) and ``link_duals`` (<= 0)."""
    q = qp.linear_costs(gamma)
    px = qp.p_diag * x
    lower, upper = qp.lower, qp.upper
    has_l, has_u = np.isfinite(lower), np.isfinite(upper)
    eq_residual = qp.a_eq @ x - qp.b_eq
    link_slack = qp.h_ineq - qp.g_ineq @ x
    bounds = np.concatenate([np.where(has_l, lower - x, 0.0), np.where(has_u, x - upper, 0.0)])
    rhs_scale = 1.0 + max(float(np.abs(qp.b_eq).max(initial=0.0)), float(np.abs(qp.h_ineq).max(initial=0.0)))
    primal = (
        max(
            float(np.abs(eq_residual).max(initial=0.0)),
            float(np.maximum(-link_slack, 0.0).max(initial=0.0)),
            float(np.maximum(bounds, 0.0).max(initial=0.0)),
        )
        / rhs_scale
    )
    rows = qp.a_eq.T @ eq_duals + qp.g_ineq.T @ link_duals
    g = px + q - rows
    infeasible = np.concatenate([g[~has_l & (g > 0)], -g[~has_u & (g < 0)], np.maximum(link_duals, 0.0)])
    gradient_scale = 1.0 + max(float(np.abs(px).max(initial=0.0)), float(np.abs(q).max(initial=0.0)),
                               float(np.abs(rows).max(initial=0.0)))  # fmt: skip
    dual = float(np.abs(infeasible).max(initial=0.0)) / gradient_scale
    z_l, z_u = np.where(has_l, np.maximum(g, 0.0), 0.0), np.where(has_u, np.maximum(-g, 0.0), 0.0)
    complementarity = float(
        (z_l * np.where(has_l, np.maximum(x - lower, 0.0), 0.0)).sum()
        + (z_u * np.where(has_u, np.maximum(upper - x, 0.0), 0.0)).sum()
        + (np.abs(link_duals) * np.maximum(link_slack, 0.0)).sum()
    )
    gap = complementarity / (1.0 + abs(qp.objective(x, gamma)))
    return Certificate(primal=primal, dual=dual, gap=gap)
