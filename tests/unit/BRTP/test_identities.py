"""Spec §7 identities, feasibility, KKT and monotonicity on sample, real and random portfolios."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from BRTP import run_brtp
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
