"""Benchmark: B-RTP run time by phase for 30, 300 and 3000 generated users (T = 24, 11 gammas).

Prints, per size: document parsing, model build (QP assembly + PIQP setup is
counted in the first solve), solve wall time, the solver's own time, KPIs,
total (build + solve + KPIs), time per user-gamma, the share of the total that
is not the solver's own time, and the peak memory of a fresh process. Each
size runs in its own process so that memory figures do not mix.

    python -m bench.brtp_scale [--sizes 30 300 3000] [--pyomo]

``--pyomo`` also times building the Pyomo reference model, for comparison.
"""

import argparse
import logging
import multiprocessing
import platform
import resource
import time
from typing import Any

import numpy as np
import piqp

from BRTP import flex_request_from_documents, portfolio_from_documents, run_brtp
from swagger_server.sample_data.generator import generate_documents

GAMMAS = [0.0, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0]
START, END = "2021-11-11T00:00:00Z", "2021-11-12T00:00:00Z"
logger = logging.getLogger("bench.brtp_scale")


def measure(users: int, with_pyomo: bool) -> dict[str, Any]:
    """Run one size and return its figures (in a fresh process)."""
    docs = generate_documents(users_per_level=users // 3, seed=users)
    started = time.perf_counter()
    portfolio = portfolio_from_documents(
        docs["dr_prosumers"], docs["curtailable_loads"], docs["load_entries"], START, END
    )
    request_doc = next(d for d in docs["flex_requests"] if d["name"] == "flex_request_1_High")
    request = flex_request_from_documents(request_doc, docs["flex_request_data_points"], portfolio.grid)
    parse = time.perf_counter() - started
    result = run_brtp(portfolio, request, 0.2, GAMMAS)
    timings = result.timings
    figures = {
        "users": portfolio.n_users,
        "parse": parse,
        "build": timings.build,
        "solve": timings.solve,
        "solver_own": timings.solver_own,
        "kpis": timings.kpis,
        "total": timings.total,
        "per_user_gamma_ms": 1000 * timings.total / (portfolio.n_users * len(GAMMAS)),
        "non_solver_share": 1 - timings.solver_own / timings.total,
        "iterations": int(np.sum([o.solution.iterations for o in result.outcomes])),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if with_pyomo:
        from BRTP import PricingProblem
        from BRTP.model import build_model

        started = time.perf_counter()
        build_model(PricingProblem(portfolio, request, 0.2, 0.03))
        figures["pyomo_build"] = time.perf_counter() - started
    return figures


def main() -> None:
    """Run the sizes and print one table row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 300, 3000])
    parser.add_argument("--pyomo", action="store_true", help="also time building the Pyomo reference model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logger.info(
        "machine: %s, %d cores, Python %s, PIQP %s; T = 24, %d gammas, one process per size",
        platform.machine(),
        multiprocessing.cpu_count(),
        platform.python_version(),
        piqp.__version__,
        len(GAMMAS),
    )
    columns = [
        ("users", 6),
        ("parse", 7),
        ("build", 7),
        ("solve", 7),
        ("solver", 7),
        ("kpis", 7),
        ("total", 7),
        ("ms/u-g", 7),
        ("!solver", 8),
        ("iters", 6),
        ("peakMB", 7),
    ]
    header = " ".join(f"{name:>{width}}" for name, width in columns)
    if args.pyomo:
        header += f" {'pyomo':>7}"
    logger.info("%s", header)
    context = multiprocessing.get_context("spawn")
    for users in args.sizes:
        with context.Pool(1) as pool:
            f = pool.apply(measure, (users, args.pyomo))
        row = (
            f"{f['users']:>6} {f['parse']:>7.2f} {f['build']:>7.3f} {f['solve']:>7.2f} {f['solver_own']:>7.2f} "
            f"{f['kpis']:>7.3f} {f['total']:>7.2f} {f['per_user_gamma_ms']:>7.3f} {f['non_solver_share']:>8.1%} "
            f"{f['iterations']:>6} {f['peak_mb']:>7.0f}"
        )
        if args.pyomo:
            row += f" {f['pyomo_build']:>7.2f}"
        logger.info("%s", row)


if __name__ == "__main__":
    main()
