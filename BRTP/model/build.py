"""The readable Pyomo formulation of the B-RTP QP (spec §3-§5): the reference model.

:func:`build_model` calls one ``add_*`` per concern, in order: aggregate load,
curtailment, shifting, flexibility, objective. Component names are fixed
(``curtail``, ``shift_power``, ``flex_credit``, ``net_increase``, ``aggregate_load``,
``flex_link``) and read back by :func:`extract_solution`.
"""

import numpy as np
import pyomo.environ as pyo

from BRTP.data.portfolio import Portfolio
from BRTP.model.curtailment import add_curtailment
from BRTP.model.flexibility import add_flexibility
from BRTP.model.shifting import add_shifting
from BRTP.problem import PricingProblem
from BRTP.solution import CellValues, Solution


def add_aggregate_load(m: pyo.ConcreteModel, portfolio: Portfolio) -> None:
    """Add ``L[t]`` and its definition ``L[t] = sum_i (xc[i, t] - c[i, t]) + sum_d y[d, t]``.

    The curtailment and shifting variables are declared afterwards; the
    balance is added by :func:`add_load_balance` once they exist.
    """
    m.I = pyo.Set(initialize=range(portfolio.n_users), ordered=True)
    m.T = pyo.Set(initialize=range(portfolio.n_slots), ordered=True)
    m.dt = pyo.Param(initialize=portfolio.dt)
    totals = portfolio.curtailable_kw.sum(axis=0)
    m.curtailable_total = pyo.Param(m.T, initialize={t: float(totals[t]) for t in range(portfolio.n_slots)})
    m.aggregate_load = pyo.Var(m.T)


def add_load_balance(m: pyo.ConcreteModel) -> None:
    """``L[t] = sum_i xc[i, t] - sum_i c[i, t] + sum_d y[d, t]`` for every slot."""
    curtail_at = {t: [i for i, tt in m.CT if tt == t] for t in m.T}
    shift_at = {t: [d for d, tt in m.DW if tt == t] for t in m.T}
    m.load_balance = pyo.Constraint(
        m.T,
        rule=lambda m, t: (
            m.aggregate_load[t]
            == m.curtailable_total[t]
            - pyo.quicksum(m.curtail[i, t] for i in curtail_at[t])
            + pyo.quicksum(m.shift_power[d, t] for d in shift_at[t])
        ),
    )


def add_objective(m: pyo.ConcreteModel, problem: PricingProblem) -> None:
    """``Phi_gamma = (1+pr)*(a/2)*sum_t L[t]^2*dt + curtail_cost + delay_cost - gamma*flex_value`` (spec §5)."""
    m.gamma = pyo.Param(initialize=0.0, mutable=True)
    m.price_weight = pyo.Param(initialize=problem.price_weight)
    m.energy_cost_term = pyo.Expression(
        expr=0.5 * m.price_weight * pyo.quicksum(m.aggregate_load[t] ** 2 for t in m.T) * m.dt
    )
    m.phi = pyo.Objective(
        expr=m.energy_cost_term + m.curtail_cost + m.delay_cost - m.gamma * m.flex_value,
        sense=pyo.minimize,
    )


def build_model(problem: PricingProblem) -> pyo.ConcreteModel:
    """Build the B-RTP QP as a Pyomo model; set ``m.gamma`` before solving."""
    portfolio, flex_request = problem.portfolio, problem.flex_request
    m = pyo.ConcreteModel(name="brtp")
    add_aggregate_load(m, portfolio)
    add_curtailment(m, portfolio)
    add_shifting(m, portfolio)
    add_load_balance(m)
    add_flexibility(m, portfolio, flex_request)
    add_objective(m, problem)
    return m


def extract_solution(
    m: pyo.ConcreteModel, problem: PricingProblem, *, status: str, solver: str, seconds: float
) -> Solution:
    """Read the fixed-name components of a solved model into a :class:`Solution`."""
    portfolio, flex_request = problem.portfolio, problem.flex_request
    c = np.zeros((portfolio.n_users, portfolio.n_slots))
    for (i, t), var in m.curtail.items():
        c[i, t] = pyo.value(var)
    y = np.zeros((portfolio.devices.count, portfolio.n_slots))
    for (d, t), var in m.shift_power.items():
        y[d, t] = pyo.value(var)
    z = np.zeros(flex_request.widths_kw.shape)
    for (t, k), var in m.flex_credit.items():
        z[t, k] = pyo.value(var)
    n = np.zeros(portfolio.n_slots)
    for t, var in m.net_increase.items():
        n[t] = pyo.value(var)
    return Solution(
        gamma=float(pyo.value(m.gamma)),
        curtailment_kw=c,
        device_power=CellValues.of(y),
        flex_credit_kw=z,
        increase_kw=n,
        objective=float(pyo.value(m.phi)),
        link_dual=None,
        status=status,
        solver=solver,
        solve_seconds=seconds,
        solver_seconds=seconds,
    )
