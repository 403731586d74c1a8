"""All KPIs of one gamma from its solution (spec §6)."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from BRTP.kpis.summary import GammaKpis
from BRTP.kpis.welfare import (
    bills,
    discomfort,
    energy_cost_total,
    flex_quantity,
    marginal_value,
    marginal_value_from_duals,
    rtp_price,
    user_load,
)
from BRTP.problem import PricingProblem
from BRTP.solution import Solution

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GammaOutcome:
    """The B-RTP outcome for one gamma: its KPIs, the per-user loads and the solution.

    Attributes
    ----------
    kpis
        The spec §6 KPIs (what a result keeps).
    user_load_kw
        ``x[i, t]``, shape ``(U, T)``.
    net_reduction_kw
        ``u[t] = Ld[t] - L[t]``.
    solution
        The optimal decision variables.
    """

    kpis: GammaKpis
    user_load_kw: FloatArray
    net_reduction_kw: FloatArray
    solution: Solution

    @property
    def gamma(self) -> float:
        """The behavioural weight."""
        return self.kpis.gamma


def compute_outcome(problem: PricingProblem, solution: Solution, snap_kw: float) -> GammaOutcome:
    """Compute every KPI of spec §6 from the primal solution of one gamma.

    ``TC = a sum_t L^2 dt``; ``FLEX_R = sum_i sum_t pd[t] xd[i, t] dt - sum_i Bill[i]``;
    ``BB = (TCd - TC) - FLEX_R``; ``UW[i] = -Bill[i] - D[i]``; ``AUW = sum_i UW[i]``;
    ``F[t] = min(max(u[t], 0), Qmax[t])``, ``FLEX_DELIVERED = sum_t F dt``,
    ``DSO_REVENUE = sum_t V[t](F[t]) dt``.
    """
    portfolio, request = problem.portfolio, problem.flex_request
    dt, gamma, a = portfolio.dt, solution.gamma, problem.energy_cost
    x = user_load(portfolio, solution)
    xd = portfolio.desired_load_kw
    load, desired = x.sum(axis=0), xd.sum(axis=0)
    price = rtp_price(load, problem.profit_margin, a)
    price_desired = rtp_price(desired, problem.profit_margin, a)
    u = desired - load
    if solution.link_dual is not None:
        lam = marginal_value_from_duals(request, u, solution.link_dual, gamma, snap_kw)
    else:  # a solver without duals (the HiGHS reference): the primal position, snapped to breakpoints
        lam = marginal_value(request, u, snap_kw)
    bill = bills(xd, x, price, lam, gamma, dt)
    uw = -bill - discomfort(portfolio, solution)
    tc = energy_cost_total(load, a, dt)
    tc_desired = energy_cost_total(desired, a, dt)
    flex_r = float(np.sum(price_desired * xd) * dt - bill.sum())
    delivered = np.minimum(np.maximum(u, 0.0), request.max_kw)
    kpis = GammaKpis(
        gamma=gamma,
        auw=float(uw.sum()),
        uw=_plain(uw),
        tc=tc,
        tc_desired=tc_desired,
        bb=(tc_desired - tc) - flex_r,
        flex_q=flex_quantity(portfolio, solution),
        flex_r=flex_r,
        flex_delivered=float(delivered.sum() * dt),
        dso_revenue=float(request.value(delivered).sum() * dt),
        final_load_kw=_plain(load),
        desired_load_kw=_plain(desired),
        price=_plain(price),
        marginal_value=_plain(lam),
        solver=solution.solver,
        status=solution.status,
        iterations=solution.iterations,
        solve_seconds=solution.solve_seconds,
        solver_seconds=solution.solver_seconds,
    )
    return GammaOutcome(kpis=kpis, user_load_kw=x, net_reduction_kw=u, solution=solution)


def _plain(values: FloatArray) -> tuple[float, ...]:
    """An array as the tuple of floats a :class:`GammaKpis` keeps."""
    return tuple(float(v) for v in values)
