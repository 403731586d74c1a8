"""Entry point: run B-RTP for a list of gamma values (spec §1, §5)."""

import logging
import math
import time
from collections.abc import Callable, Sequence

from BRTP.data.portfolio import FlexRequest, Portfolio
from BRTP.errors import InvalidInputError
from BRTP.kpis import GammaOutcome, compute_outcome
from BRTP.model import solve_with_highs
from BRTP.options import BrtpOptions
from BRTP.qp import assemble_qp
from BRTP.result import BrtpResult, Timings
from BRTP.solution import Solution
from BRTP.solve import PiqpSession

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
    portfolio: Portfolio,
    flex_request: FlexRequest,
    profit_margin: float,
    gammas: Sequence[float],
    options: BrtpOptions | None = None,
    progress: ProgressCallback | None = None,
    on_outcome: Callable[[GammaOutcome], None] | None = None,
) -> tuple[list[GammaOutcome], Timings]:
    """Solve B-RTP for exactly ``gammas`` (no gamma 0 added) with one model set up once.

    This is the unit of work a worker runs for its share of a job's gammas;
    :func:`run_brtp` is the whole job in one process. ``on_outcome`` receives
    each gamma's outcome as soon as it is known (before ``progress``).
    """
    options = options or BrtpOptions()
    if not math.isfinite(profit_margin) or profit_margin < 0:
        raise InvalidInputError(f"profit_margin: {profit_margin!r} is not a finite non-negative number")
    if flex_request.widths_kw.shape[0] != portfolio.n_slots:
        raise InvalidInputError(
            f"flex request {flex_request.name} has {flex_request.widths_kw.shape[0]} slots, "
            f"the portfolio {portfolio.n_slots}"
        )
    a = options.energy_cost_eur_per_kw2h
    started = time.perf_counter()
    solve: Callable[[float], Solution]
    if options.solver == "piqp":
        session = PiqpSession(assemble_qp(portfolio, flex_request, profit_margin, a), options)
        solve = session.solve
    else:

        def solve(gamma: float) -> Solution:
            return solve_with_highs(portfolio, flex_request, profit_margin, a, gamma)

    build_seconds = time.perf_counter() - started

    outcomes: list[GammaOutcome] = []
    solve_seconds = solver_own = kpi_seconds = 0.0
    for done, gamma in enumerate(gammas, start=1):
        solution = solve(float(gamma))
        solve_seconds += solution.solve_seconds
        solver_own += solution.solver_seconds
        started = time.perf_counter()
        outcomes.append(
            compute_outcome(portfolio, flex_request, solution, profit_margin, a, options.breakpoint_snap_kw)
        )
        kpi_seconds += time.perf_counter() - started
        logger.debug("gamma %s done (%d/%d)", gamma, done, len(gammas))
        if on_outcome is not None:
            on_outcome(outcomes[-1])
        if progress is not None:
            progress(done, len(gammas))
    timings = Timings(build=build_seconds, solve=solve_seconds, solver_own=solver_own, kpis=kpi_seconds)
    return outcomes, timings


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
    outcomes, timings = solve_gammas(
        portfolio, flex_request, profit_margin, normalise_gammas(gammas), options, progress
    )
    return BrtpResult(
        user_names=portfolio.user_names,
        slot_starts=portfolio.grid.labels(),
        outcomes=tuple(outcomes),
        warnings=portfolio.warnings,
        timings=timings,
    )
