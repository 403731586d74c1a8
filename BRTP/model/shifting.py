"""Shiftable devices and EVs ``y[d, t]`` (spec §3-§5)."""

import numpy as np
import pyomo.environ as pyo

from BRTP.data.portfolio import Portfolio


def add_shifting(m: pyo.ConcreteModel, portfolio: Portfolio) -> None:
    """Add ``y[d, t] in [0, Pmax_d]`` on ``s_d <= t <= l_d``, energy conservation and delay cost.

    ``sum_t y[d, t] * dt = E_d`` and
    ``delay_cost = sum_d delta_d * sum_{t > f_d} (t - f_d) * dt * y[d, t] * dt`` ([choice]).
    """
    devices = portfolio.devices
    dt = portfolio.dt
    window = [(int(d), int(t)) for d, t in zip(*np.nonzero(devices.window_mask(portfolio.n_slots)), strict=True)]
    delay = devices.delay_hours(portfolio.n_slots, dt)
    energy = devices.energy_kwh(dt)
    m.D = pyo.Set(initialize=range(devices.count), ordered=True)
    m.DW = pyo.Set(initialize=window, dimen=2, ordered=True)
    m.energy = pyo.Param(m.D, initialize={d: float(energy[d]) for d in range(devices.count)})
    m.pmax = pyo.Param(m.D, initialize={d: float(devices.power_cap_kw[d]) for d in range(devices.count)})
    m.delay_weight = pyo.Param(
        m.DW, initialize={(d, t): float(devices.delay_price[d] * delay[d, t]) for d, t in window}
    )
    m.shift_power = pyo.Var(m.DW, bounds=lambda m, d, t: (0.0, m.pmax[d]))
    slots_of = {d: [t for dd, t in window if dd == d] for d in range(devices.count)}
    m.shift_energy = pyo.Constraint(
        m.D,
        rule=lambda m, d: pyo.quicksum(m.shift_power[d, t] for t in slots_of[d]) * m.dt == m.energy[d],
    )
    m.delay_cost = pyo.Expression(expr=pyo.quicksum(m.delay_weight[d, t] * m.shift_power[d, t] * m.dt for d, t in m.DW))
