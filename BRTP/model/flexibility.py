"""Flex credits ``z[t, k]``, net increases ``n[t]`` and the flexibility link (spec §3-§5)."""

import numpy as np
import pyomo.environ as pyo

from BRTP.data.portfolio import FlexRequest, Portfolio


def add_flexibility(m: pyo.ConcreteModel, portfolio: Portfolio, flex_request: FlexRequest) -> None:
    """Add ``z[t, k] in [0, w[t, k]]``, ``n[t] >= 0``, the link and the behavioural value.

    ``sum_k z[t, k] - n[t] <= Ld[t] - L[t]`` on every slot with a request, and
    ``flex_value = sum_t (sum_k pi[t, k] * z[t, k] - pi1[t] * n[t]) * dt``
    (the objective subtracts ``gamma * flex_value``). Slots without a request
    have no link: their value is 0 whatever the load.
    """
    widths = flex_request.widths_kw
    steps = [(int(t), int(k)) for t, k in zip(*np.nonzero(widths > 0), strict=True)]
    slots = sorted({t for t, _ in steps})
    first_price = flex_request.first_price
    desired = portfolio.desired_load_kw.sum(axis=0)
    m.TK = pyo.Set(initialize=steps, dimen=2, ordered=True)
    m.TR = pyo.Set(initialize=slots, ordered=True)
    m.width = pyo.Param(m.TK, initialize={(t, k): float(widths[t, k]) for t, k in steps})
    m.price = pyo.Param(m.TK, initialize={(t, k): float(flex_request.prices[t, k]) for t, k in steps})
    m.first_price = pyo.Param(m.TR, initialize={t: float(first_price[t]) for t in slots})
    m.desired_total = pyo.Param(m.TR, initialize={t: float(desired[t]) for t in slots})
    m.flex_credit = pyo.Var(m.TK, bounds=lambda m, t, k: (0.0, m.width[t, k]))
    m.net_increase = pyo.Var(m.TR, bounds=(0.0, None))
    steps_of = {t: [k for tt, k in steps if tt == t] for t in slots}
    m.flex_link = pyo.Constraint(
        m.TR,
        rule=lambda m, t: (
            pyo.quicksum(m.flex_credit[t, k] for k in steps_of[t]) - m.net_increase[t]
            <= m.desired_total[t] - m.aggregate_load[t]
        ),
    )
    m.flex_value = pyo.Expression(
        expr=(
            pyo.quicksum(m.price[t, k] * m.flex_credit[t, k] for t, k in m.TK)
            - pyo.quicksum(m.first_price[t] * m.net_increase[t] for t in m.TR)
        )
        * m.dt
    )
