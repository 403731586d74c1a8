"""run_brtp: gamma handling, progress, the original's JSON views and spec §7.2."""

from dataclasses import replace

import numpy as np
import pytest

from BRTP import InvalidInputError, normalise_gammas, plots, raw_data, run_brtp
from BRTP.problem import PricingProblem
from BRTP.report.series import ratio_to_reference
from tests.documents import build_job
from tests.unit.BRTP.random_portfolio import random_job


def test_gamma_zero_first_duplicates_removed_order_kept() -> None:
    assert normalise_gammas([2.0, 1.0, 2.0, 0.0, 0.5]) == [0.0, 2.0, 1.0, 0.5]
    assert normalise_gammas([]) == [0.0]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_gamma_is_named(bad: float) -> None:
    with pytest.raises(InvalidInputError, match="gamma_values"):
        normalise_gammas([1.0, bad])


def test_progress_reports_every_gamma() -> None:
    portfolio, request, margin = random_job(3)
    calls: list[tuple[int, int]] = []
    run_brtp(portfolio, request, margin, [1.0, 2.0], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_single_user_without_flexibility_has_zero_flex_revenue() -> None:
    """Spec §7.2: one user, nothing to curtail or shift, gamma 0: FLEX_R = (1+pr)(TCd - TC) = 0."""
    portfolio, request, _ = random_job(11)
    first = portfolio.user_names[:1]
    devices = portfolio.devices
    keep = devices.user == 0
    flat = devices.profile_kw[keep].copy()
    for row, (s, f) in enumerate(zip(devices.start[keep], devices.finish[keep], strict=True)):
        flat[row, s : f + 1] = 1.0  # a flat profile at its cap with no slack cannot move
    rigid = replace(
        devices,
        user=devices.user[keep],
        names=tuple(n for n, k in zip(devices.names, keep, strict=True) if k),
        is_ev=devices.is_ev[keep],
        profile_kw=flat,
        start=devices.start[keep],
        finish=devices.finish[keep],
        deadline=devices.finish[keep],
        delay_price=devices.delay_price[keep],
        power_cap_kw=np.ones(int(keep.sum())),
    )
    single = replace(
        portfolio,
        user_names=first,
        baseload_kw=portfolio.baseload_kw[:1],
        curtailable_kw=portfolio.curtailable_kw[:1],
        max_curtailment_kw=np.zeros((1, portfolio.n_slots)),
        curtailment_slope=np.zeros((1, portfolio.n_slots)),
        devices=rigid,
    )
    kpis = run_brtp(single, request, 0.3, []).outcomes[0].kpis
    assert abs(kpis.flex_r) < 1e-7
    assert abs(kpis.tc_desired - kpis.tc) < 1e-7
    np.testing.assert_allclose(kpis.final_load_kw, kpis.desired_load_kw, atol=1e-6)


def test_raw_data_has_one_index_per_gamma(sample_docs):  # type: ignore[no-untyped-def]
    portfolio, request = build_job(sample_docs, ["user_1_High", "user_2_High"], "flex_request_1_High")
    result = run_brtp(portfolio, request, 34.4, [1.0, 0.0, 1.0])
    data = raw_data(result.kpis(), result.user_names, result.slot_starts)
    assert data["GAMMA"] == [0.0, 1.0]
    for key in ("AUW_BRTP", "TC_BRTP", "BB_BRTP", "FLEX_Q", "FLEX_R", "FLEX_DELIVERED", "DSO_REVENUE"):
        assert len(data[key]) == 2
    assert np.array(data["uw_bar_plot"]).shape == (2, 2)
    finalcons = np.array(data["FINALCONS"])
    assert finalcons.shape == (2, 24)
    # Gamma 0 is a real solution (the original left it all zeros).
    assert np.all(finalcons[0] > 0)
    assert data["AUW_BRTP"][0] == pytest.approx(sum(data["uw_bar_plot"][0]))


def test_plots_keep_the_originals_titles_and_sign_safe_ratios(sample_docs):  # type: ignore[no-untyped-def]
    portfolio, request = build_job(sample_docs, ["user_1_Medium", "user_4_High"], "flex_request_1_Medium")
    result = run_brtp(portfolio, request, 0.2, [0.5, 2.0])
    series = plots(result.kpis(), result.user_names)
    assert set(series) == {"AUW_vs_GAMMA", "UW_BAR", "FLEX_REVENUES", "FLEX_QUANTITY", "FINAL_ECC"}
    auw = series["AUW_vs_GAMMA"]
    assert auw["title"] == "Ratio between AUW with B-RTP and AUW with RTP as a function of γ"
    assert auw["ylabel"] == "AUW with B-RTP(γ) / AUW with RTP (γ = 0)"
    assert auw["serries"][0]["xvalues"] == [0.0, 0.5, 2.0]
    assert auw["serries"][0]["yvalues"][0] == 1.0
    auws = [o.kpis.auw for o in result.outcomes]
    assert auw["serries"][0]["yvalues"][2] == pytest.approx(1 + (auws[0] - auws[2]) / auws[0])
    assert len(series["UW_BAR"]) == 3 and len(series["FINAL_ECC"]) == 3
    assert series["UW_BAR"][1]["serries"][0]["xvalues"] == [1, 2]
    ecc = series["FINAL_ECC"][2]
    assert ecc["title"] == "Initial vs Final ECC (γ = 2.0)"
    assert [s["legend"] for s in ecc["serries"]] == ["Initial ECC", "Final ECC"]
    assert ecc["serries"][1]["yvalues"] == pytest.approx(list(result.outcomes[2].kpis.final_load_kw))
    assert series["FLEX_REVENUES"]["ylabel"] == "Flexibility Revenues (€)"
    assert series["FLEX_QUANTITY"]["ylabel"] == "Flexibility Quantity Delivered (kW)"


def test_ratio_is_null_where_the_reference_is_zero() -> None:
    assert ratio_to_reference(0.0, 5.0) is None
    assert ratio_to_reference(-10.0, -5.0) == pytest.approx(1.5)  # sign-safe: better welfare, ratio above 1
    assert ratio_to_reference(10.0, 5.0) == pytest.approx(1.5)  # the original's formula, kept as is (spec §6)


def test_negative_profit_margin_is_rejected() -> None:
    portfolio, request, _ = random_job(5)
    with pytest.raises(InvalidInputError, match="profit_margin"):
        run_brtp(portfolio, request, -0.1, [1.0])


@pytest.mark.parametrize(
    ("margin", "energy_cost", "field"), [(float("nan"), 0.03, "profit_margin"), (0.2, 0.0, "energy_cost")]
)
def test_the_problem_itself_refuses_bad_parameters(margin: float, energy_cost: float, field: str) -> None:
    """Every caller (the workers build the problem directly) gets the same check."""
    portfolio, request, _ = random_job(5)
    with pytest.raises(InvalidInputError, match=field):
        PricingProblem(portfolio, request, margin, energy_cost)
