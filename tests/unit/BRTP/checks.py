"""Checks of spec §7 shared by the tests: identities, feasibility and KKT conditions."""

import itertools

import numpy as np

from BRTP import BrtpResult, FlexRequest, Portfolio
from BRTP.kpis import GammaOutcome

A = 0.03  # default energy-cost coefficient
BAND = 1e-3  # kW: distance from a bound below which a variable counts as at the bound


def assert_identities(outcome: GammaOutcome, portfolio: Portfolio, profit_margin: float) -> None:
    """§7.1 and §7.2: TC, BB, AUW identities; FLEX_R = (1+pr)(TCd - TC) at gamma 0."""
    dt = portfolio.dt
    load = outcome.user_load_kw.sum(axis=0)
    np.testing.assert_allclose(outcome.kpis.tc, A * np.sum(load**2) * dt, rtol=1e-9)
    np.testing.assert_allclose(
        outcome.kpis.bb, (outcome.kpis.tc_desired - outcome.kpis.tc) - outcome.kpis.flex_r, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(outcome.kpis.auw, np.sum(outcome.kpis.uw), rtol=1e-9, atol=1e-9)
    if outcome.kpis.gamma == 0:
        np.testing.assert_allclose(
            outcome.kpis.flex_r, (1 + profit_margin) * (outcome.kpis.tc_desired - outcome.kpis.tc), rtol=1e-9, atol=1e-9
        )


def assert_feasible(outcome: GammaOutcome, portfolio: Portfolio, tol: float = 1e-6) -> None:
    """§7.3: energy conserved, nothing outside [s_d, l_d], caps and curtailment bounds hold."""
    devices = portfolio.devices
    y = outcome.solution.device_power_kw
    np.testing.assert_allclose(y.sum(axis=1) * portfolio.dt, devices.energy_kwh(portfolio.dt), rtol=1e-7, atol=1e-7)
    assert np.all(y[~devices.window_mask(portfolio.n_slots)] == 0.0)
    assert np.all(y >= -tol) and np.all(y <= devices.power_cap_kw[:, None] + tol)
    c = outcome.solution.curtailment_kw
    assert np.all(c >= -tol) and np.all(c <= portfolio.max_curtailment_kw + tol)


def right_price(request: FlexRequest, u: np.ndarray) -> np.ndarray:
    """Right derivative of V[t] at u (snapped to a breakpoint within 1e-6 kW): pi1 below 0,
    the price of the step starting at u, 0 at or above Qmax."""
    out = np.zeros(len(u))
    for t in range(len(u)):
        q = request.breakpoints_kw[t]
        points = np.concatenate([[0.0], q])
        nearest = points[np.argmin(np.abs(points - u[t]))]
        value = nearest if abs(nearest - u[t]) <= 1e-6 else u[t]
        if value < 0:
            out[t] = request.first_price[t]
            continue
        k = int(np.searchsorted(q, value, side="right"))
        out[t] = request.prices[t, k] if k < q.size else 0.0
    return out


def assert_kkt(outcome: GammaOutcome, portfolio: Portfolio, request: FlexRequest, tol: float = 2e-5) -> None:
    """§7.4: stationarity and complementarity of the QP's optimality conditions.

    With ``nu`` the flexibility-link dual (per hour): ``nu >= 0``; ``nu = 0`` at
    gamma 0; ``nu/gamma`` between the request prices on either side of ``u``;
    interior curtailment has ``kappa*c = p + nu``, curtailment at its cap has
    ``kappa*cmax <= p + nu``; a device's marginal cost
    ``p + nu + delta*(t-f)^+*dt`` is equal on its interior slots, no lower on
    slots where it is off and no higher where it runs at its cap.
    """
    solution = outcome.solution
    nu = solution.link_dual
    assert nu is not None
    scale = 1.0 + float(np.max(np.abs(np.asarray(outcome.kpis.price))))
    assert np.all(nu >= -tol * scale)
    gamma = outcome.gamma
    if gamma == 0:
        np.testing.assert_allclose(nu, 0.0, atol=tol * scale)
    else:
        has_request = request.max_kw > 0
        u = outcome.net_reduction_kw
        ratio = nu / gamma
        upper = np.asarray(outcome.kpis.marginal_value)
        lower = right_price(request, u)
        slack = 1e-3 * (1 + upper)
        assert np.all(ratio[has_request] <= upper[has_request] + slack[has_request]), (ratio, upper)
        assert np.all(ratio[has_request] >= lower[has_request] - slack[has_request]), (ratio, lower)
        np.testing.assert_allclose(nu[~has_request], 0.0, atol=tol * scale)

    marginal = np.asarray(outcome.kpis.price) + nu
    c, cmax, kappa = solution.curtailment_kw, portfolio.max_curtailment_kw, portfolio.curtailment_slope
    # An interior-point solution sits within ~1e-4 kW of a bound that is (nearly) degenerate,
    # so "at a bound" means within BAND of it.
    gradient = kappa * c - np.broadcast_to(marginal, c.shape)
    interior = (c > BAND) & (c < cmax - BAND)
    np.testing.assert_allclose(gradient[interior], 0.0, atol=1e-4 * scale)
    at_cap = (cmax > 0) & (c >= cmax - BAND)
    assert np.all(gradient[at_cap] <= 1e-4 * scale)

    devices = portfolio.devices
    delay = devices.delay_hours(portfolio.n_slots, portfolio.dt)
    window = devices.window_mask(portfolio.n_slots)
    y = solution.device_power_kw
    for d in range(devices.count):
        cost = marginal + devices.delay_price[d] * delay[d]
        cap = devices.power_cap_kw[d]
        eps = BAND
        inner = window[d] & (y[d] > eps) & (y[d] < cap - eps)
        off = window[d] & (y[d] <= eps)
        full = window[d] & (y[d] >= cap - eps)
        if inner.any():
            level = cost[inner].mean()
            np.testing.assert_allclose(cost[inner], level, atol=1e-4 * scale)
            assert np.all(cost[off] >= level - 1e-4 * scale)
            assert np.all(cost[full] <= level + 1e-4 * scale)
        elif off.any() and full.any():
            assert cost[off].min() >= cost[full].max() - 1e-4 * scale


def assert_monotone_value(result: BrtpResult, request: FlexRequest) -> None:
    """§7.5: the behavioural value sum_t V[t](u[t]) does not fall as gamma grows; TC <= TCd at gamma 0."""
    by_gamma = sorted(result.outcomes, key=lambda o: o.gamma)
    values = [float(request.value(o.net_reduction_kw).sum()) for o in by_gamma]
    scale = 1.0 + max(abs(v) for v in values)
    assert all(b >= a - 1e-6 * scale for a, b in itertools.pairwise(values)), values
    reference = result.outcomes[0]
    assert reference.gamma == 0
    assert reference.kpis.tc <= reference.kpis.tc_desired * (1 + 1e-9) + 1e-9
