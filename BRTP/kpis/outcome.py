"""All KPIs of one gamma in one object (spec §6)."""

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from BRTP.data.portfolio import FlexRequest, Portfolio
from BRTP.kpis.summary import GammaKpis
from BRTP.kpis.welfare import (
    bills,
    discomfort,
    energy_cost_total,
    flex_quantity,
    marginal_value,
    rtp_price,
    user_load,
)
from BRTP.solution import Solution

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GammaOutcome:
    """The B-RTP outcome for one gamma.

    Scalars follow spec §6: ``auw``, ``tc`` (and ``tc_desired``), ``bb``,
    ``flex_q``, ``flex_r``, ``flex_delivered``, ``dso_revenue``. Arrays:
    ``uw`` and ``bill`` per user, ``final_load_kw`` (aggregate ``L``) and
    ``user_load_kw`` per slot, ``desired_load_kw`` (``Ld``, the initial ECC),
    ``price`` (``p``), ``marginal_value`` (``lambda``), ``net_reduction_kw``
    (``u``) and ``delivered_kw`` (``F``).
    """

    gamma: float
    auw: float
    uw: FloatArray
    bill: FloatArray
    discomfort: FloatArray
    tc: float
    tc_desired: float
    bb: float
    flex_q: float
    flex_r: float
    flex_delivered: float
    dso_revenue: float
    final_load_kw: FloatArray
    user_load_kw: FloatArray
    desired_load_kw: FloatArray
    price: FloatArray
    marginal_value: FloatArray
    net_reduction_kw: FloatArray
    delivered_kw: FloatArray
    solution: Solution

    def kpis(self) -> GammaKpis:
        """The plain-number summary of this outcome: the fields both share, arrays as tuples."""
        shared = {f.name: getattr(self, f.name) for f in fields(GammaKpis) if hasattr(self, f.name)}
        plain: dict[str, Any] = {
            k: tuple(float(v) for v in x) if isinstance(x, np.ndarray) else x for k, x in shared.items()
        }
        solution = self.solution
        return GammaKpis(
            **plain,
            solver=solution.solver,
            status=solution.status,
            iterations=solution.iterations,
            solve_seconds=solution.solve_seconds,
            solver_seconds=solution.solver_seconds,
        )


def compute_outcome(
    portfolio: Portfolio,
    flex_request: FlexRequest,
    solution: Solution,
    profit_margin: float,
    energy_cost: float,
    snap_kw: float,
) -> GammaOutcome:
    """Compute every KPI of spec §6 from the primal solution of one gamma."""
    dt, gamma = portfolio.dt, solution.gamma
    x = user_load(portfolio, solution)
    xd = portfolio.desired_load_kw()
    load, desired = x.sum(axis=0), xd.sum(axis=0)
    price = rtp_price(load, profit_margin, energy_cost)
    price_desired = rtp_price(desired, profit_margin, energy_cost)
    u = desired - load
    lam = marginal_value(flex_request, u, snap_kw)
    bill = bills(portfolio, x, price, lam, gamma)
    disc = discomfort(portfolio, solution)
    uw = -bill - disc
    tc = energy_cost_total(load, energy_cost, dt)
    tc_desired = energy_cost_total(desired, energy_cost, dt)
    flex_r = float(np.sum(price_desired * xd) * dt - bill.sum())
    delivered = np.minimum(np.maximum(u, 0.0), flex_request.max_kw)
    return GammaOutcome(
        gamma=gamma,
        auw=float(uw.sum()),
        uw=uw,
        bill=bill,
        discomfort=disc,
        tc=tc,
        tc_desired=tc_desired,
        bb=(tc_desired - tc) - flex_r,
        flex_q=flex_quantity(portfolio, solution),
        flex_r=flex_r,
        flex_delivered=float(delivered.sum() * dt),
        dso_revenue=float(flex_request.value(delivered).sum() * dt),
        final_load_kw=load,
        user_load_kw=x,
        desired_load_kw=desired,
        price=price,
        marginal_value=lam,
        net_reduction_kw=u,
        delivered_kw=delivered,
        solution=solution,
    )
