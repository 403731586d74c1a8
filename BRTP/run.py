"""Entry point: run B-RTP for a list of gamma values (spec §1, §5)."""

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_limits

from BRTP.data.portfolio import FlexRequest, Portfolio
from BRTP.errors import InvalidInputError
from BRTP.kpis import GammaOutcome, compute_outcome
from BRTP.options import BrtpOptions
from BRTP.problem import PricingProblem
from BRTP.result import BrtpResult, Timings
from BRTP.solve import GammaSolver, make_solver

logger = logging.getLogger(__name__)

#: Called after each gamma with (gammas done, gammas in total).
ProgressCallback = Callable[[int, int], None]


def normalise_gammas(gammas: Sequence[float]) -> list[float]:
    """Gamma 0 first (the RTP reference), duplicates removed, order kept.

    Raises
    ------
    InvalidInputError
        A gamma that is negative, NaN or infinite.
    """
    ordered: list[float] = [0.0]
    for gamma in gammas:
        value = float(gamma)
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"gamma_values: {gamma!r} is not a finite non-negative number")
        if value not in ordered:
            ordered.append(value)
    return ordered


def solve_gammas(
    problem: PricingProblem,
    gammas: Sequence[float],
    options: BrtpOptions | None = None,
    on_outcome: Callable[[GammaOutcome], None] | None = None,
    solver: GammaSolver | None = None,
) -> tuple[list[GammaOutcome], Timings]:
    """Solve ``problem`` for exactly ``gammas`` (no gamma 0 added), set up once.

    This is the unit of work a worker runs for its share of a job's gammas;
    :func:`run_brtp` is the whole job in one process. ``on_outcome`` receives
    each gamma's outcome, in the order of ``gammas``, as soon as it and those
    before it are known. With ``options.threads > 1`` that many gammas are
    solved at once (each solver serialises what it cannot share), with one BLAS thread. ``solver``:
    one :func:`~BRTP.solve.make_solver` already made for ``problem`` and
    ``options`` (a worker keeps its job's, so the assembled QP and the
    interior-point method's anchors serve the job's next tasks); made here if
    ``None``.
    """
    options = options or BrtpOptions()
    started = time.perf_counter()
    solver = solver if solver is not None else make_solver(problem, options)
    build_seconds = time.perf_counter() - started

    def solved(gamma: float) -> tuple[GammaOutcome, float]:
        solution = solver.solve(float(gamma))
        kpis_started = time.perf_counter()
        return compute_outcome(problem, solution, options.breakpoint_snap_kw), time.perf_counter() - kpis_started

    threads = max(1, min(options.threads, len(gammas)))
    outcomes: list[GammaOutcome] = []
    kpi_seconds = 0.0
    # The gammas' threads are the parallelism; the BLAS calls are on T x T systems, and OpenBLAS's own
    # threads, spinning between calls, took a core from the other gamma (10 000 prosumers, 2 threads:
    # user time 6.0-6.6 s against 4.5-5.6 s with one BLAS thread, docs/solver.md). Restored on leaving.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=threads) as pool:
        for outcome, seconds in pool.map(solved, gammas):
            outcomes.append(outcome)
            kpi_seconds += seconds
            if on_outcome is not None:
                on_outcome(outcome)
    solve_seconds = sum(o.solution.solve_seconds for o in outcomes)
    solver_own = sum(o.solution.solver_seconds for o in outcomes)
    return outcomes, Timings(build=build_seconds, solve=solve_seconds, solver_own=solver_own, kpis=kpi_seconds)


def run_brtp(
    portfolio: Portfolio,
    flex_request: FlexRequest,
    profit_margin: float,
    gammas: Sequence[float],
    options: BrtpOptions | None = None,
    progress: ProgressCallback | None = None,
) -> BrtpResult:
    """Solve B-RTP for every gamma and compute the KPIs of spec §6.

    Parameters
    ----------
    portfolio, flex_request
        Validated inputs on the same slot grid.
    profit_margin
        ``pr >= 0`` as a fraction (0.2 = 20 %).
    gammas
        Behavioural weights; gamma 0 is added first, duplicates removed.
    options
        Numerical options; defaults to :class:`BrtpOptions`.
    progress
        Called with ``(done, total)`` after each gamma.
    """
    options = options or BrtpOptions()
    problem = PricingProblem(portfolio, flex_request, profit_margin, options.energy_cost_eur_per_kw2h)
    ordered = normalise_gammas(gammas)

    def report(outcome: GammaOutcome) -> None:
        done = ordered.index(outcome.gamma) + 1
        if progress is not None:
            progress(done, len(ordered))

    outcomes, timings = solve_gammas(problem, ordered, options, report)
    logger.debug("run.done", extra={"users": portfolio.n_users, "gammas": len(ordered), "seconds": timings.total})
    return BrtpResult(
        user_names=portfolio.user_names,
        slot_starts=portfolio.grid.labels(),
        outcomes=tuple(outcomes),
        warnings=portfolio.warnings,
        timings=timings,
    )
