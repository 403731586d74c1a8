"""Curtailment ``c[i, t]`` and its discomfort (spec §3, §5)."""

import numpy as np
import pyomo.environ as pyo

from BRTP.data.portfolio import Portfolio
from BRTP.matrices import MIN_CURTAILMENT_KW


def add_curtailment(m: pyo.ConcreteModel, portfolio: Portfolio) -> None:
    """Add ``c[i, t] in [0, cmax[i, t]]`` and the curtailment discomfort.

    ``curtail_cost = sum_{i,t} 1/2 * kappa[i, t] * c[i, t]^2 * dt`` ([compat] kappa:
    least-squares slope of the offer). Cells with ``cmax = 0`` get no variable.
    """
    cells = [
        (int(i), int(t)) for i, t in zip(*np.nonzero(portfolio.max_curtailment_kw > MIN_CURTAILMENT_KW), strict=True)
    ]
    m.CT = pyo.Set(initialize=cells, dimen=2, ordered=True)
    m.cmax = pyo.Param(m.CT, initialize={(i, t): float(portfolio.max_curtailment_kw[i, t]) for i, t in cells})
    m.kappa = pyo.Param(m.CT, initialize={(i, t): float(portfolio.curtailment_slope[i, t]) for i, t in cells})
    m.curtail = pyo.Var(m.CT, bounds=lambda m, i, t: (0.0, m.cmax[i, t]))
    m.curtail_cost = pyo.Expression(
        expr=pyo.quicksum(0.5 * m.kappa[i, t] * m.curtail[i, t] ** 2 * m.dt for i, t in m.CT)
    )
