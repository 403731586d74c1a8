"""The structure-exploiting interior-point method: agrees with PIQP, certifies, falls back, never fails falsely."""

import time
from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from BRTP import BrtpOptions, PricingProblem, SolverError, interior_point, ipm_kernels, run_brtp, solve_gammas
from BRTP.certificate import certify
from BRTP.data.synthetic import REQUEST, synthetic_dataset
from BRTP.interior_point import AGAIN_EVERY_COLUMN, AGAIN_KEPT_IN, SlotSchurIpm
from BRTP.solve import CertifiedSolver, PiqpRun
from tests.unit.BRTP.random_portfolio import random_job

GAMMAS = [0.3, 1.0, 4.0]
#: KPIs fixed by the optimum (the objective and the unique aggregate L). FLEX_Q is not: it counts each
#: device's shortfall, and interchangeable devices have many optimal schedules (docs/model.md §5).
KPIS = ("auw", "tc", "bb", "flex_r", "flex_delivered", "dso_revenue")
#: The objective, these KPIs and the final load L per slot agree to 1e-7 relative. The KPIs read L, which a duality
#: gap g pins down only to about sqrt(g) (the curvature (1+pr)*a*dt is small), so both solvers are run to gaps far
#: below the certificate's: the interior point to 1e-14, PIQP to PIQP_TIGHT (with the gaps at 1e-12 and 1e-10, L sat
#: up to 2.9e-7 apart; at these, the worst over every case here is 5.5e-9 on the KPIs and 8.7e-9 on L).
TOLERANCE = 1e-7
PIQP_TIGHT = BrtpOptions(
    solver="piqp", eps_abs=1e-12, eps_rel=1e-13, eps_gap_abs=1e-12, eps_gap_rel=1e-13, max_iter=500
)


def variant(seed: int):  # type: ignore[no-untyped-def]
    """Random portfolios, and degenerate ones: no devices, no curtailment room, requests on every slot with
    zero-width steps, and every slot's answer on a request breakpoint."""
    portfolio, request, margin = random_job(seed)
    kind = seed % 5
    if kind == 1:  # no devices
        empty = portfolio.devices
        none = np.zeros(0, dtype=np.int64)
        portfolio = replace(
            portfolio,
            devices=replace(empty, user=none, names=(), is_ev=np.zeros(0, dtype=bool),
                            profile_kw=np.zeros((0, portfolio.n_slots)), start=none, finish=none, deadline=none,
                            delay_price=np.zeros(0), power_cap_kw=np.zeros(0)),
        )  # fmt: skip
    elif kind == 2:  # nothing to curtail
        portfolio = replace(portfolio, max_curtailment_kw=np.zeros_like(portfolio.max_curtailment_kw))
    elif kind == 3:  # a request on every slot, zero-width steps between positive ones
        widths = np.abs(request.widths_kw) + 0.4
        widths[:, 2] = 0.0
        request = replace(request, widths_kw=widths)
    elif kind == 4:  # a valuable first step just past the RTP reduction, then nearly worthless ones: u sits on Q1
        [rtp] = run_brtp(portfolio, request, margin, [0.0]).outcomes
        widths = np.full_like(request.widths_kw, 0.5)
        widths[:, 0] = 0.0
        widths[:, 1] = np.maximum(rtp.net_reduction_kw, 0.0) + 0.05
        prices = np.full_like(request.prices, 0.001)
        prices[:, :2] = 5.0
        request = replace(request, widths_kw=widths, prices=prices)
    return portfolio, request, margin


@pytest.mark.parametrize("chunk", range(10))
def test_the_interior_point_method_agrees_with_piqp_on_two_hundred_portfolios(chunk: int) -> None:
    on_breakpoint: list[bool] = []
    for seed in range(chunk * 20, chunk * 20 + 20):
        portfolio, request, margin = variant(seed)
        assert_agree_with_piqp(portfolio, request, margin, seed)
        if seed % 5 == 4:
            [last] = run_brtp(portfolio, request, margin, [GAMMAS[-1]]).outcomes[1:]
            on_breakpoint += (np.abs(last.net_reduction_kw - request.breakpoints_kw[:, 1]) <= 1e-7).tolist()
    # The breakpoint variant is what it says: most of its slots end exactly on Q1 (86 % over all 40 seeds; a
    # slot with nothing left to curtail stays below).
    assert np.mean(on_breakpoint) >= 0.5, on_breakpoint


@pytest.mark.parametrize("size", [20, 60, 150, 400, 1000])
def test_the_interior_point_method_agrees_with_piqp_on_generated_portfolios_of_every_size(size: int) -> None:
    for seed in range(2):
        portfolio, request = synthetic_dataset(size, seed=seed).job(REQUEST)
        assert_agree_with_piqp(portfolio, request, 0.2, (size, seed))


def test_the_interior_point_method_solves_the_contracts_largest_gammas() -> None:
    """Gamma up to 1000 (the contract's limit) on 1 000 prosumers, without the PIQP fallback: from gamma 300 on,
    the method used to stall (its cold start's duals on the link rows' increase and slack were far too small)."""
    portfolio, request = synthetic_dataset(1000, seed=1000).job(REQUEST)
    assert_agree_with_piqp(portfolio, request, 0.2, "largest gammas", gammas=[100.0, 300.0, 1000.0])


def assert_agree_with_piqp(portfolio, request, margin, case, gammas=GAMMAS) -> None:  # type: ignore[no-untyped-def]
    """The objective, the KPIs the optimum fixes and L to TOLERANCE (relative), at gamma 0 and every one of ``gammas``."""
    ours = run_brtp(portfolio, request, margin, gammas)
    piqp = run_brtp(portfolio, request, margin, gammas, PIQP_TIGHT)
    for a, b in zip(ours.outcomes, piqp.outcomes, strict=True):
        assert a.solution.solver == "schur-ipm" and b.solution.solver == "piqp"
        scale = max(1.0, abs(b.solution.objective))
        assert abs(a.solution.objective - b.solution.objective) <= TOLERANCE * scale, (case, a.gamma)
        for name in KPIS:
            x, y = getattr(a.kpis, name), getattr(b.kpis, name)
            assert abs(x - y) <= TOLERANCE * max(1.0, abs(y)), (case, a.gamma, name, x, y)
        load, reference = np.asarray(a.kpis.final_load_kw), np.asarray(b.kpis.final_load_kw)
        assert np.abs(load - reference).max() <= TOLERANCE * max(1.0, np.abs(reference).max()), (case, a.gamma)


def test_a_portfolio_piqp_calls_infeasible_is_solved_and_certified() -> None:
    """3 000 prosumers of the kind users bring: PIQP at its defaults stops with PRIMAL_INFEASIBLE; it is feasible."""
    portfolio, request = synthetic_dataset(3000, seed=3000).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    with pytest.raises(SolverError, match="PIQP ended with PIQP_PRIMAL_INFEASIBLE"):
        PiqpRun(CertifiedSolver(problem, BrtpOptions()).qp, BrtpOptions(eps_abs=1e-8, eps_rel=1e-9,
                eps_gap_abs=1e-8, eps_gap_rel=1e-9, max_iter=250)).answer(1.0)  # fmt: skip
    solution = CertifiedSolver(problem, BrtpOptions()).solve(1.0)
    assert solution.solver == "schur-ipm" and solution.link_dual is not None


def test_an_uncertified_point_is_refused_naming_the_check() -> None:
    portfolio, request, margin = random_job(5)
    solver = CertifiedSolver(PricingProblem(portfolio, request, margin), BrtpOptions())
    method = SlotSchurIpm(PricingProblem(portfolio, request, margin))
    point = method.solve(1.0)
    n_eq = solver.qp.a_eq.shape[0]
    good = certify(solver.qp, 1.0, point.x, point.row_duals[:n_eq], point.row_duals[n_eq:])
    assert good.ok and good.failure() == ""
    shifted = point.x + 1e-3  # off the balance rows
    bad = certify(solver.qp, 1.0, shifted, point.row_duals[:n_eq], point.row_duals[n_eq:])
    assert not bad.ok and "primal feasibility" in bad.failure()
    wrong_duals = certify(solver.qp, 1.0, point.x, point.row_duals[:n_eq] * 0, point.row_duals[n_eq:])
    assert not wrong_duals.ok and "stationarity" in wrong_duals.failure()


def test_falls_back_to_piqp_and_names_both_when_both_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    portfolio, request, margin = random_job(8)
    problem = PricingProblem(portfolio, request, margin)

    def broken(self: SlotSchurIpm, gamma: float) -> None:
        raise SolverError("the interior-point method did not converge in 100 iterations")

    monkeypatch.setattr(SlotSchurIpm, "solve", broken)
    assert CertifiedSolver(problem, BrtpOptions()).solve(0.5).solver == "piqp"
    with pytest.raises(SolverError, match=r"schur-ipm: the interior-point.*; piqp: PIQP ended with PIQP_MAX_ITER"):
        CertifiedSolver(problem, BrtpOptions(max_iter=1)).solve(0.5)


@pytest.mark.parametrize("size", [400, 1500])
def test_settled_columns_leave_the_system_and_the_optimum_is_the_one_of_every_column(size: int) -> None:
    """Most columns settle on a bound and leave the Newton systems mid-run; the point reached is certified
    against the whole QP and is its optimum: the objective and the unique aggregate L of a solve that keeps
    every column (a face's other columns may differ: where in the face a path ends is not fixed)."""
    portfolio, request = synthetic_dataset(size, seed=size).job(REQUEST)
    method = SlotSchurIpm(PricingProblem(portfolio, request, 0.2))
    qp = method.matrices
    n_eq = qp.a_eq.shape[0]
    for gamma in (0.0, 1.0, 2.0):
        settled, every = method.solve(gamma), method.solve(gamma, settle=False)
        assert every.settled == 0 and settled.settled >= 0.5 * len(qp.p_diag), (gamma, settled.settled)
        assert certify(qp, gamma, settled.x, settled.row_duals[:n_eq], settled.row_duals[n_eq:]).ok
        objective = qp.objective(every.x, gamma)
        assert abs(qp.objective(settled.x, gamma) - objective) <= 1e-9 * max(1.0, abs(objective))
        load, load_every = qp.layout.unpack(settled.x).L, qp.layout.unpack(every.x).L
        np.testing.assert_allclose(load, load_every, rtol=1e-6, atol=1e-6 * np.abs(load_every).max())


def settling_far_too_early(monkeypatch: pytest.MonkeyPatch, settled_gap: float) -> None:
    """Columns settle once their slack is below their dual (not a third of it), from a relative gap of ``settled_gap``
    and whatever the dual residual: they go on bounds they would leave."""
    monkeypatch.setattr(interior_point, "SETTLED_GAP", settled_gap)
    monkeypatch.setattr(interior_point, "SETTLED_DUAL", np.inf)
    monkeypatch.setattr(interior_point, "SETTLED_RATIO", 1.0)


def settled_wrongly_records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, int]]:
    """Each ``ipm.settled_wrongly`` record's why, how the gamma was solved again, and how many columns were wrong."""
    return [(r.why, r.again, r.columns) for r in caplog.records if r.msg == "ipm.settled_wrongly"]  # type: ignore[attr-defined]


def test_columns_settled_on_the_wrong_bound_are_kept_in_when_the_gamma_is_solved_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Settling far too early puts columns on bounds they would leave: the end check finds their reduced costs of
    the wrong sign, and the gamma is solved again from the same start with those columns' devices kept in the
    systems, the rest still settling. The answer is certified and is the optimum of a solve with every column.
    (From a cold start: an anchored start is too close to the optimum for this portfolio to settle wrongly.)"""
    portfolio, request = synthetic_dataset(200, seed=4).job(REQUEST)
    method = SlotSchurIpm(PricingProblem(portfolio, request, 0.2), anchored=False)
    qp, gamma = method.matrices, 1.0
    every = method.solve(gamma, settle=False)
    settling_far_too_early(monkeypatch, 1.0)
    with caplog.at_level("WARNING", logger="BRTP.interior_point"):
        again = method.solve(gamma)
    [(why, how, wrong)] = settled_wrongly_records(caplog)
    assert "wrong sign" in why and how == AGAIN_KEPT_IN and wrong > 0
    assert again.settled > 0
    n_eq = qp.a_eq.shape[0]
    assert certify(qp, gamma, again.x, again.row_duals[:n_eq], again.row_duals[n_eq:]).ok
    objective = qp.objective(every.x, gamma)
    assert abs(qp.objective(again.x, gamma) - objective) <= 1e-9 * max(1.0, abs(objective))
    load, load_every = qp.layout.unpack(again.x).L, qp.layout.unpack(every.x).L
    np.testing.assert_allclose(load, load_every, rtol=1e-6, atol=1e-6 * np.abs(load_every).max())


@pytest.mark.parametrize(
    ("size", "seed", "settled_gap", "case", "hows"),
    [
        (300, 5, np.inf, "no column known to be wrong", [AGAIN_EVERY_COLUMN]),
        (300, 5, np.inf, "", [AGAIN_KEPT_IN, AGAIN_EVERY_COLUMN]),
        (200, 4, 1.0, "settled wrongly again", [AGAIN_KEPT_IN, AGAIN_EVERY_COLUMN]),
    ],
)
def test_a_gamma_whose_settling_cannot_be_mended_is_solved_with_every_column(
    size: int, seed: int, settled_gap: float, case: str, hows: list[str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Settling from the first iterations leaves the settled system no interior: the iterations make no progress.
    The settled columns whose reduced costs have the wrong sign at the last duals are suspect, and the gamma is
    solved again with their devices kept in; here that fails too, and the gamma is solved with every column. So it
    is at once when no settled column has the wrong sign (here: with the check's tolerance at infinity), and when
    the second solve settles wrongly again (here forced: it may settle the same columns). Every time the answer is
    that of a solve with every column, bit for bit."""
    portfolio, request = synthetic_dataset(size, seed=seed).job(REQUEST)
    method = SlotSchurIpm(PricingProblem(portfolio, request, 0.2), anchored=False)
    every = method.solve(1.0, settle=False)
    settling_far_too_early(monkeypatch, settled_gap)
    if case == "no column known to be wrong":
        monkeypatch.setattr(interior_point, "SETTLED_DUAL_TOLERANCE", np.inf)
    if case == "settled wrongly again":
        monkeypatch.setattr(method, "_settles_without", lambda columns: method.settles)
    with caplog.at_level("WARNING", logger="BRTP.interior_point"):
        again = method.solve(1.0)
    found = settled_wrongly_records(caplog)
    assert [how for _, how, _ in found] == hows
    assert ("made no progress" in found[0][0]) == (settled_gap == np.inf)
    assert (found[0][2] > 0) == (case != "no column known to be wrong")
    assert again.settled == 0
    np.testing.assert_array_equal(again.x, every.x)
    np.testing.assert_array_equal(again.row_duals, every.row_duals)


def test_a_gammas_answer_does_not_depend_on_what_was_solved_before() -> None:
    """Anchored starts: a job split one gamma per worker gives the numbers of one process solving them in turn,
    gammas on different rungs of the anchors' ladder included.

    FLEX_Q included: where devices are interchangeable the optimum is a face, and a warm start from the previous
    gamma's point would land elsewhere on it (4e-4 relative apart on this portfolio).
    """
    dataset = synthetic_dataset(40, seed=3)
    portfolio, request = dataset.job(REQUEST, list(dataset.user_names)[::3])
    problem = PricingProblem(portfolio, request, 0.2)
    in_turn, _ = solve_gammas(problem, [0.0, 0.5, 1.5, 5.0])
    for outcome in in_turn[1:]:
        [alone], _ = solve_gammas(problem, [outcome.gamma])
        assert alone.kpis.flex_q == outcome.kpis.flex_q
        assert alone.solution.objective == outcome.solution.objective


def test_gammas_solved_in_threads_give_the_numbers_of_one_thread() -> None:
    dataset = synthetic_dataset(60, seed=11)
    portfolio, request = dataset.job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    gammas = [0.0, 0.3, 0.8, 1.5, 2.0]
    alone, _ = solve_gammas(problem, gammas)
    seen: list[float] = []
    threaded, _ = solve_gammas(problem, gammas, BrtpOptions(threads=3), on_outcome=lambda o: seen.append(o.gamma))
    assert seen == gammas  # outcomes are reported in the order asked, whichever thread finished first
    for a, b in zip(alone, threaded, strict=True):
        assert (a.gamma, a.solution.objective, a.kpis.flex_q) == (b.gamma, b.solution.objective, b.kpis.flex_q)
        np.testing.assert_array_equal(a.solution.device_power_kw, b.solution.device_power_kw)


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_the_slot_system_is_the_schur_complement_of_the_normal_matrix(seed: int) -> None:
    """The compiled pass against dense algebra: ``S = M_ss - M_se M_ee^-1 M_es`` with ``M = A diag(d) A'``."""
    dataset = synthetic_dataset(40, seed=seed)
    portfolio, request = dataset.job(REQUEST)
    method = SlotSchurIpm(PricingProblem(portfolio, request, 0.2))
    rng = np.random.default_rng(seed)
    n, rows = method.n_cols, method.rows
    zl, zu = rng.uniform(0.1, 2.0, n) * method.has_l, rng.uniform(0.1, 2.0, n) * method.has_u
    sl, su = rng.uniform(0.1, 2.0, n), rng.uniform(0.1, 2.0, n)
    d, m_ee = np.empty(n), np.zeros(method.n_devices)

    def over(first: int, stop: int, first_device: int, stop_device: int) -> np.ndarray:
        return ipm_kernels.slot_system(
            method.quad, zl, zu, sl, su, interior_point.REGULARIZATION, rows.erow, rows.brow, rows.bcoef, rows.lrow,
            rows.lcoef, method.dt, method.device_start, method.n_time, method.n_link, first, stop, first_device,
            stop_device, d, m_ee,
        )  # fmt: skip

    whole = over(0, n, 0, method.n_devices)
    m_ee[:] = 0.0  # and in two parts divided at a device, as an anchor's passes run
    middle = method.n_devices // 2
    parts = over(0, int(method.device_start[middle]), 0, middle)
    parts += over(int(method.device_start[middle]), n, middle, method.n_devices)
    a = np.zeros((method.n_rows, n))
    column = np.arange(n)
    for row, coefficient, offset in ((rows.erow, np.full(n, method.dt), 0), (rows.brow, rows.bcoef, method.n_devices),
                                     (rows.lrow, rows.lcoef, method.n_devices + method.n_time)):  # fmt: skip
        enters = row >= 0
        a[offset + row[enters], column[enters]] = coefficient[enters]
    h = method.quad + zl / sl + zu / su + interior_point.REGULARIZATION
    normal = a @ np.diag(1.0 / h) @ a.T
    energy, slot = slice(0, method.n_devices), slice(method.n_devices, method.n_rows)
    assert method.n_devices > 10 and np.count_nonzero(np.diff(method.device_start) > 1) > 10  # outer products to sum
    np.testing.assert_allclose(d, 1.0 / h, rtol=1e-13)
    np.testing.assert_allclose(m_ee, np.diag(normal[energy, energy]), rtol=1e-13)
    schur = normal[slot, slot] - normal[slot, energy] @ np.diag(1.0 / m_ee) @ normal[energy, slot]
    for s in (whole, parts):
        np.testing.assert_allclose(s, schur, rtol=1e-10, atol=1e-12 * np.abs(schur).max())


def blas_threads() -> list[int]:
    """The thread count of each BLAS library loaded (numpy's and scipy's)."""
    return [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]


def test_gammas_are_solved_with_one_blas_thread_and_the_limit_is_lifted_after() -> None:
    dataset = synthetic_dataset(30, seed=5)
    problem = PricingProblem(*dataset.job(REQUEST), 0.2)
    during: list[list[int]] = []
    with threadpool_limits(limits=2, user_api="blas"):  # what a 2-core machine has by default, whatever the env
        assert blas_threads()
        if set(blas_threads()) != {2}:  # OpenBLAS runs no more threads than the machine has cores
            pytest.skip("the BLAS library cannot run two threads here: a limit of one would not show")
        solve_gammas(problem, [0.5, 1.0], BrtpOptions(threads=2), on_outcome=lambda _: during.append(blas_threads()))
        assert set(blas_threads()) == {2}
    assert len(during) == 2 and all(set(threads) == {1} for threads in during)


def test_the_highs_reference_gives_its_one_thread_numbers_under_threads() -> None:
    portfolio, request, margin = random_job(22)
    problem = PricingProblem(portfolio, request, margin)
    gammas = [0.2, 0.6, 1.0, 3.0]
    alone, _ = solve_gammas(problem, gammas, BrtpOptions(solver="highs"))
    threaded, _ = solve_gammas(problem, gammas, BrtpOptions(solver="highs", threads=4))
    for a, b in zip(alone, threaded, strict=True):
        assert b.solution.solver == "highs" and a.gamma == b.gamma
        assert abs(a.solution.objective - b.solution.objective) <= 1e-9 * max(1.0, abs(a.solution.objective))


def test_the_piqp_fallback_runs_one_gamma_at_a_time_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """PIQP is one solver object updated per gamma: two threads must never be inside it at once."""
    portfolio, request, margin = random_job(21)
    problem = PricingProblem(portfolio, request, margin)
    gammas = [0.2, 0.6, 1.0, 3.0]
    alone, _ = solve_gammas(problem, gammas)

    def broken(self: SlotSchurIpm, gamma: float) -> None:
        raise SolverError("the interior-point method did not converge in 500 iterations")

    inside, most = [0], [0]
    answer = PiqpRun.answer

    def watched(self: PiqpRun, gamma: float):  # type: ignore[no-untyped-def]
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)  # long enough for the other threads to arrive
        try:
            return answer(self, gamma)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(SlotSchurIpm, "solve", broken)
    monkeypatch.setattr(PiqpRun, "answer", watched)
    threaded, _ = solve_gammas(problem, gammas, BrtpOptions(threads=4))
    assert most[0] == 1
    for a, b in zip(alone, threaded, strict=True):
        assert b.solution.solver == "piqp"
        assert abs(a.solution.objective - b.solution.objective) <= 1e-7 * max(1.0, abs(a.solution.objective))


@pytest.mark.parametrize(
    ("gamma", "anchor"), [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (2.01, 4.0), (8.0, 4.0), (8.01, 16.0), (100.0, 64.0)]
)
def test_each_gamma_has_the_anchor_of_its_rung(gamma: float, anchor: float) -> None:
    assert interior_point.anchor_gamma(gamma) == anchor


@pytest.mark.parametrize(
    ("change", "gap"), [(0.0, 1e-5), (5e-3, 1e-5), (7e-3, 1e-4), (0.06, 1e-4), (0.3, 1e-3), (0.9, 1e-2), (1.1, None)]
)
def test_the_further_the_costs_move_the_shallower_the_anchor(change: float, gap: float | None) -> None:
    assert interior_point.anchor_depth(change) == gap


def test_anchored_starts_reach_the_cold_starts_optimum_in_fewer_iterations(caplog: pytest.LogCaptureFixture) -> None:
    """Every gamma of [0, 2] starts from an anchor at gamma 1 (each computed once, the deeper one going on from the
    shallower): the same objective and aggregate as from the cold start, and fewer iterations for the 11 gammas,
    the anchors' own included."""
    portfolio, request = synthetic_dataset(1000, seed=1000).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    anchored, cold = SlotSchurIpm(problem), SlotSchurIpm(problem, anchored=False)
    qp = anchored.matrices
    gammas = [0.2 * k for k in range(11)]
    with caplog.at_level("INFO", logger="BRTP.interior_point"):
        warm_points = [anchored.solve(gamma) for gamma in gammas]
    records = [r for r in caplog.records if r.msg == "ipm.anchored"]
    depths = [(r.gamma, r.gap) for r in records]  # type: ignore[attr-defined]
    assert {gamma for gamma, _ in depths} == {1.0} and len(set(depths)) == len(depths), depths
    cold_points = [cold.solve(gamma) for gamma in gammas]
    for gamma, warm, base in zip(gammas, warm_points, cold_points, strict=True):
        objective = qp.objective(base.x, gamma)
        assert abs(qp.objective(warm.x, gamma) - objective) <= 1e-9 * max(1.0, abs(objective)), gamma
        load, base_load = qp.layout.unpack(warm.x).L, qp.layout.unpack(base.x).L
        np.testing.assert_allclose(load, base_load, rtol=1e-6, atol=1e-6 * np.abs(base_load).max())
    anchors = sum(r.iterations for r in records)  # type: ignore[attr-defined]
    warm_iterations = anchors + sum(p.iterations for p in warm_points)
    cold_iterations = sum(p.iterations for p in cold_points)
    assert warm_iterations < 0.8 * cold_iterations, (warm_iterations, cold_iterations)


def test_an_anchor_gone_on_from_a_shallower_one_is_the_one_from_the_cold_start() -> None:
    portfolio, request = synthetic_dataset(300, seed=5).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    stepwise, direct = SlotSchurIpm(problem), SlotSchurIpm(problem)
    shallow = stepwise._anchor(1.0, 1e-3)
    deep, alone = stepwise._anchor(1.0, 1e-5), direct._anchor(1.0, 1e-5)
    assert shallow is not None and deep is not None and alone is not None
    assert shallow.iterations < deep.iterations == alone.iterations
    for name in ("x", "lam", "zl", "zu", "sl", "su"):
        np.testing.assert_array_equal(getattr(deep.point, name), getattr(alone.point, name))


def test_an_anchor_and_the_answers_from_it_are_the_same_on_one_thread_or_two() -> None:
    """With two threads an anchor's passes run over its two parts at once, the second part on a helper thread;
    the parts' sums are added in the same order either way, so nothing depends on the number of threads."""
    portfolio, request = synthetic_dataset(300, seed=5).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    one, two = SlotSchurIpm(problem), SlotSchurIpm(problem, threads=2)
    with interior_point._Split.halves(one) as alone, interior_point._Split.halves(two) as shared:
        assert alone.helper is None and shared.helper is not None
        assert alone.device == shared.device and 0 < alone.device < one.n_devices
    anchor_one, anchor_two = one._anchor(1.0, 1e-5), two._anchor(1.0, 1e-5)
    assert anchor_one is not None and anchor_two is not None
    for name in ("x", "lam", "zl", "zu", "sl", "su"):
        np.testing.assert_array_equal(getattr(anchor_one.point, name), getattr(anchor_two.point, name))
    for gamma in (0.0, 1.4):
        answer_one, answer_two = one.solve(gamma), two.solve(gamma)
        np.testing.assert_array_equal(answer_one.x, answer_two.x)
        np.testing.assert_array_equal(answer_one.row_duals, answer_two.row_duals)


def test_large_gammas_start_from_anchors_shallow_enough_to_move_the_devices(caplog: pytest.LogCaptureFixture) -> None:
    """From the deepest anchor, a start whose costs moved by a few per cent made steps of 1e-3 of the way and was
    given up after 30 + 30 iterations for a cold start (every one of these gammas on this portfolio, once). From an
    anchor of the depth :func:`anchor_depth` picks, each is solved from its anchor, to the cold start's optimum."""
    portfolio, request = synthetic_dataset(1000, seed=1000).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    anchored, cold = SlotSchurIpm(problem), SlotSchurIpm(problem, anchored=False)
    qp = anchored.matrices
    with caplog.at_level("WARNING", logger="BRTP.interior_point"):
        for gamma in (6.0, 10.0, 32.0, 100.0, 300.0):
            objective = qp.objective(cold.solve(gamma).x, gamma)
            assert abs(qp.objective(anchored.solve(gamma).x, gamma) - objective) <= 1e-9 * max(1.0, abs(objective))
    assert not [r.gamma for r in caplog.records], [(r.msg, r.gamma) for r in caplog.records]  # type: ignore[attr-defined]


def test_a_start_that_fails_before_any_column_settled_is_not_iterated_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Gamma 100 from the deepest anchor at 64 makes no progress, and nothing settles (the dual residual stays above
    the settling gate): the same iterations without settling could only fail the same way, so the next try is the
    cold start's."""
    portfolio, request = synthetic_dataset(1000, seed=1000).job(REQUEST)
    method = SlotSchurIpm(PricingProblem(portfolio, request, 0.2))
    monkeypatch.setattr(interior_point, "anchor_depth", lambda change: min(interior_point.ANCHOR_GAPS))
    with caplog.at_level("WARNING", logger="BRTP.interior_point"):
        method.solve(100.0)
    assert [r.msg for r in caplog.records] == ["ipm.anchored_start_failed"]
    assert "made no progress" in caplog.records[0].why  # type: ignore[attr-defined]


def test_a_failed_anchored_solve_is_solved_again_from_the_cold_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An anchored start the iterations cannot recover from (here: not a number) costs one failed try, logged; the
    answer is the cold start's, bit for bit."""
    portfolio, request = synthetic_dataset(200, seed=4).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    cold = SlotSchurIpm(problem, anchored=False).solve(1.0)
    method = SlotSchurIpm(problem)
    broken = method._anchored_start(1.0, method.q_base + method.q_gamma)
    assert broken is not None
    monkeypatch.setattr(method, "_anchored_start", lambda gamma, q: replace(broken, x=broken.x * np.nan))
    with caplog.at_level("WARNING", logger="BRTP.interior_point"):
        again = method.solve(1.0)
    [record] = [r for r in caplog.records if r.msg == "ipm.anchored_start_failed"]
    assert "broke down" in record.why  # type: ignore[attr-defined]
    np.testing.assert_array_equal(again.x, cold.x)
    np.testing.assert_array_equal(again.row_duals, cold.row_duals)
