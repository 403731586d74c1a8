"""Loads, prices, bills and welfare: pure functions of a solution (spec §6).

Every function reads primal values only, so the KPIs are the same whichever
solver produced the solution.
"""

import numpy as np
from numpy.typing import NDArray

from BRTP.data.portfolio import FlexRequest, Portfolio
from BRTP.solution import Solution

FloatArray = NDArray[np.float64]
#: Relative tolerance on ``nu / gamma`` when it is compared with request prices.
DUAL_TOLERANCE = 1e-6


def user_load(portfolio: Portfolio, solution: Solution) -> FloatArray:
    """``x[i, t] = xc[i, t] - c[i, t] + sum_{d in i} y[d, t]``, shape ``(U, T)``."""
    device, slot = solution.device_power.indices()
    shifted = portfolio.sum_by_user(device, slot, solution.device_power.values)
    return portfolio.curtailable_kw - solution.curtailment_kw + shifted


def rtp_price(load_kw: FloatArray, profit_margin: float, energy_cost: float) -> FloatArray:
    """``p[t] = (1+pr) * a * L[t]`` (EUR/kWh)."""
    return (1.0 + profit_margin) * energy_cost * load_kw


def marginal_value(flex_request: FlexRequest, net_reduction_kw: FloatArray, snap_kw: float) -> FloatArray:
    """``lambda[t]``: left derivative of ``V[t]`` at ``u[t]`` (spec §6).

    ``u`` is first snapped to the nearest breakpoint (0 included) within
    ``snap_kw``; then ``pi1`` if ``u <= 0``, ``pi[t, k]`` if
    ``Q[t, k-1] < u <= Q[t, k]`` (found with ``searchsorted`` on the cumulative
    breakpoints) and 0 above ``Qmax``.
    """
    breakpoints = flex_request.breakpoints_kw
    n_time, n_steps = breakpoints.shape
    lam = np.zeros(n_time)
    first = flex_request.first_price
    for t in range(n_time):
        u = float(net_reduction_kw[t])
        points = np.concatenate([[0.0], breakpoints[t]])
        nearest = points[np.argmin(np.abs(points - u))]
        if abs(nearest - u) <= snap_kw:
            u = float(nearest)
        if u <= 0:
            lam[t] = first[t]
            continue
        k = int(np.searchsorted(breakpoints[t], u, side="left"))
        lam[t] = flex_request.prices[t, k] if k < n_steps else 0.0
    return lam


def marginal_value_from_duals(
    flex_request: FlexRequest, net_reduction_kw: FloatArray, link_dual: FloatArray, gamma: float, snap_kw: float
) -> FloatArray:
    """``lambda[t]`` read from the structure: the link dual says which step ``u[t]`` is in (spec §6, §7.4).

    With ``r = nu[t] / gamma`` (``nu`` per hour of slot), stationarity of the
    request credits gives: ``r`` equal to a step's price when ``u`` lies in that
    step, ``r`` strictly between two consecutive prices when ``u`` sits exactly
    on the breakpoint between them, ``r = 0`` beyond ``Qmax``. So ``lambda``
    (the left derivative of ``V`` at ``u``) is the smallest positive-width price
    at least ``r`` -- whatever the portfolio's size, with no kW tolerance. Only
    where ``r`` equals a price *and* ``u`` is at that step's left end (two
    degeneracies at once) does the primal position decide, relative to the step.
    Slots without a request, and gamma 0 (no dual information), use
    :func:`marginal_value`.
    """
    lam = marginal_value(flex_request, net_reduction_kw, snap_kw)
    if gamma <= 0:
        return lam
    widths, prices, first = flex_request.widths_kw, flex_request.prices, flex_request.first_price
    breakpoints = flex_request.breakpoints_kw
    for t in np.flatnonzero(widths.sum(axis=1) > 0):
        steps = np.flatnonzero(widths[t] > 0)
        step_prices = prices[t, steps]
        r = float(link_dual[t]) / gamma
        tol = DUAL_TOLERANCE * (1.0 + float(first[t]))
        if r <= tol:  # nothing of the curve is valued at the margin: u at or beyond Qmax
            u, q_max = float(net_reduction_kw[t]), float(breakpoints[t, steps[-1]])
            lam[t] = 0.0 if u > q_max * (1 + 1e-9) + 1e-12 else step_prices[-1]
            continue
        at_least = np.flatnonzero(step_prices >= r - tol)
        k = int(at_least[-1]) if len(at_least) else 0  # prices fall along the curve: the last one at least r
        lam[t] = step_prices[k]
        if abs(step_prices[k] - r) <= tol and k > 0:  # r is this step's price: inside it, or at its left end?
            left_end = float(breakpoints[t, steps[k - 1]])
            if float(net_reduction_kw[t]) <= left_end * (1 + 1e-9) + 1e-12:
                lam[t] = step_prices[k - 1]
    return lam


def bills(
    desired_kw: FloatArray, load_kw: FloatArray, price: FloatArray, lam: FloatArray, gamma: float, dt: float
) -> FloatArray:
    """``Bill[i] = sum_t (p[t]*x[i, t] - gamma*lambda[t]*(xd[i, t] - x[i, t])) * dt``."""
    per_slot = price * load_kw - gamma * lam * (desired_kw - load_kw)
    return np.asarray(per_slot.sum(axis=1) * dt, dtype=np.float64)


def discomfort(portfolio: Portfolio, solution: Solution) -> FloatArray:
    """``D[i]``: the user's curtailment and delay terms of ``Phi_gamma`` (spec §5, §6)."""
    dt = portfolio.dt
    curtail = (0.5 * portfolio.curtailment_slope * solution.curtailment_kw**2 * dt).sum(axis=1)
    devices = portfolio.devices
    device, slot = solution.device_power.indices()
    delay = devices.delay_price[device] * devices.delay_hours_at(device, slot, dt) * solution.device_power.values * dt
    return np.asarray(curtail + portfolio.sum_by_user(device, slot, delay).sum(axis=1), dtype=np.float64)


def energy_cost_total(load_kw: FloatArray, energy_cost: float, dt: float) -> float:
    """``TC = a * sum_t L[t]^2 * dt`` ([compat])."""
    return float(energy_cost * np.sum(load_kw**2) * dt)


def flex_quantity(portfolio: Portfolio, solution: Solution) -> float:
    """``FLEX_Q = sum_t sum_i (c[i, t] + sum_{d in i} max(P[d, t] - y[d, t], 0)) * dt`` ([compat])."""
    # y is 0 off its cells, where the shortfall is max(P, 0); on them it is max(P - y, 0).
    profile = portfolio.devices.profile_kw
    on_cells = profile.ravel()[solution.device_power.cells]
    shortfall = (
        np.maximum(profile, 0.0).sum()
        - np.maximum(on_cells, 0.0).sum()
        + np.maximum(on_cells - solution.device_power.values, 0.0).sum()
    )
    return float((solution.curtailment_kw.sum() + shortfall) * portfolio.dt)
