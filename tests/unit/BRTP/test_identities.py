"""Spec §7 identities, feasibility, KKT and monotonicity on sample, real and random portfolios."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from BRTP import run_brtp
from BRTP.kpis import welfare
from tests.documents import build_job
from tests.unit.BRTP.checks import assert_feasible, assert_identities, assert_kkt, assert_monotone_value
from tests.unit.BRTP.random_portfolio import random_job

GAMMAS = [0.0, 0.25, 1.0, 3.0, 10.0]


def check_all(portfolio, request, profit_margin):  # type: ignore[no-untyped-def]
    result = run_brtp(portfolio, request, profit_margin, GAMMAS)
    for outcome in result.outcomes:
        assert_identities(outcome, portfolio, profit_margin)
        assert_feasible(outcome, portfolio)
        assert_kkt(outcome, portfolio, request)
    assert_monotone_value(result, request)
    return result


@pytest.mark.parametrize("level", ["Low", "Medium", "High"])
def test_sample_portfolio_satisfies_spec_section_7(sample_docs, level):  # type: ignore[no-untyped-def]
    names = [f"user_{k}_{level}" for k in range(1, 11)]
    portfolio, request = build_job(sample_docs, names, f"flex_request_1_{level}")
    check_all(portfolio, request, 0.2)


def test_whole_sample_with_the_originals_margin(sample_docs):  # type: ignore[no-untyped-def]
    portfolio, request = build_job(sample_docs, None, "flex_request_1_High")
    check_all(portfolio, request, 34.4)


@pytest.mark.parametrize("margin", [0.0, 0.2, 34.4])
def test_real_export_satisfies_spec_section_7(shared_docs, margin):  # type: ignore[no-untyped-def]
    portfolio, request = build_job(shared_docs, None, "flex_request_1_High")
    assert portfolio.n_users == 30 and portfolio.n_slots == 24
    check_all(portfolio, request, margin)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_portfolios_satisfy_spec_section_7(seed):  # type: ignore[no-untyped-def]
    portfolio, request, margin = random_job(seed)
    check_all(portfolio, request, margin)


def test_half_hour_slots_keep_the_identities():  # type: ignore[no-untyped-def]
    portfolio, request, margin = random_job(7, dt_hours=0.5)
    check_all(portfolio, request, margin)


@pytest.mark.parametrize("seed", range(6))
def test_kpis_read_from_the_device_powers_cells_match_their_dense_definitions(seed):  # type: ignore[no-untyped-def]
    """user_load, discomfort and FLEX_Q work on the cells of each device's window; the spec writes them on
    the dense (D, T) array, with np.add.at over each user's devices. Both must give the same numbers."""
    portfolio, request, margin = random_job(seed, dt_hours=0.5 if seed % 2 else 1.0)
    devices, dt = portfolio.devices, portfolio.dt
    for outcome in run_brtp(portfolio, request, margin, [0.0, 2.0]).outcomes:
        solution = outcome.solution
        y = solution.device_power_kw
        shifted = np.zeros((portfolio.n_users, portfolio.n_slots))
        np.add.at(shifted, devices.user, y)
        np.testing.assert_allclose(
            welfare.user_load(portfolio, solution), portfolio.curtailable_kw - solution.curtailment_kw + shifted,
            rtol=1e-12, atol=1e-12,
        )  # fmt: skip
        delay = np.zeros(portfolio.n_users)
        np.add.at(delay, devices.user, (devices.delay_price[:, None] * devices.delay_hours(portfolio.n_slots, dt)
                                        * y * dt).sum(axis=1))  # fmt: skip
        curtail = (0.5 * portfolio.curtailment_slope * solution.curtailment_kw**2 * dt).sum(axis=1)
        np.testing.assert_allclose(welfare.discomfort(portfolio, solution), curtail + delay, rtol=1e-12, atol=1e-12)
        shortfall = np.maximum(devices.profile_kw - y, 0.0).sum()
        assert welfare.flex_quantity(portfolio, solution) == pytest.approx(
            (solution.curtailment_kw.sum() + shortfall) * dt, rel=1e-12, abs=1e-12
        )


def test_the_desired_load_is_computed_once_per_portfolio_and_cannot_be_changed():  # type: ignore[no-untyped-def]
    """Every gamma's KPIs, the QP's link rows and the solver's scaling read the same array: a caller writing into
    it would change the others' numbers."""
    portfolio, _, _ = random_job(3)
    desired = portfolio.desired_load_kw
    assert desired is portfolio.desired_load_kw
    with pytest.raises(ValueError, match="read-only"):
        desired[0, 0] = 1.0
    expected = portfolio.curtailable_kw.copy()
    np.add.at(expected, portfolio.devices.user, portfolio.devices.profile_kw)
    np.testing.assert_allclose(desired, expected, rtol=1e-12, atol=1e-12)
