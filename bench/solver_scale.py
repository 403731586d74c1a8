"""Benchmark: the structure-exploiting interior-point method against PIQP at its defaults, same QP, same run.

For generated portfolios (24 hourly slots, 1-4 shiftable devices of 1-3 h and
0-2 EVs per prosumer, 4-step offers, an all-day 4-step request) and 11 gamma
values from 0 to 2, prints per size: the certified solve time of the new path
(``BrtpOptions()``: interior point, PIQP fallback), its iterations, the time of
PIQP with its default settings on the same assembled matrices and how many of
its gammas it solved, the ratio, the largest relative objective difference
where both solved, and the peak memory of each size's process.

    python -m bench.solver_scale [--sizes 3000 10000 30000]
"""

import argparse
import multiprocessing
import platform
import time
from typing import Any

import numpy as np
import piqp
import scipy.sparse as sp

from bench.memory import peak_memory_mb
from BRTP import BrtpOptions, PricingProblem
from BRTP.data.synthetic import REQUEST, synthetic_dataset
from BRTP.solve import CertifiedSolver

GAMMAS = [0.2 * k for k in range(11)]


def measure(size: int, queue: "multiprocessing.Queue[dict[str, Any]]") -> None:
    """One size in a fresh process (so peak memory is this size's)."""
    portfolio, request = synthetic_dataset(size, seed=size).job(REQUEST)
    problem = PricingProblem(portfolio, request, 0.2)
    started = time.perf_counter()
    solver = CertifiedSolver(problem, BrtpOptions())
    ours = [solver.solve(g) for g in GAMMAS]
    ours_seconds = time.perf_counter() - started
    qp = solver.qp
    started = time.perf_counter()
    theirs: list[float | None] = []
    piqp_solver = piqp.SparseSolver()
    for k, gamma in enumerate(GAMMAS):
        costs = qp.linear_costs(gamma)
        if k == 0:
            piqp_solver.setup(sp.diags(qp.p_diag, format="csc"), costs, qp.a_eq, qp.b_eq, qp.g_ineq, None,
                              qp.h_ineq, qp.lower, qp.upper)  # fmt: skip
        else:
            piqp_solver.update(c=costs)
        status = piqp_solver.solve()
        theirs.append(qp.objective(np.asarray(piqp_solver.result.x), gamma) if status == piqp.PIQP_SOLVED else None)
    piqp_seconds = time.perf_counter() - started
    deviation = max(
        (abs(o.objective - t) / max(1.0, abs(t)) for o, t in zip(ours, theirs, strict=True) if t is not None),
        default=float("nan"),
    )
    queue.put(
        {
            "size": size,
            "ours": ours_seconds,
            "iterations": sum(o.iterations for o in ours),
            "by": sorted({o.solver for o in ours}),
            "piqp": piqp_seconds,
            "piqp_solved": sum(t is not None for t in theirs),
            "deviation": deviation,
            "peak_mb": peak_memory_mb(),
        }
    )


def main() -> None:
    """Run the sizes and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 10000, 30000])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} cores, Python {platform.python_version()}, "
          f"PIQP {piqp.__version__}; T = 24, {len(GAMMAS)} gammas")  # fmt: skip
    columns = ("prosumers", 9), ("new s", 7), ("iters", 6), ("PIQP s", 7), ("PIQP ok", 8), ("ratio", 6), ("max dev", 9)
    print(" ".join(f"{name:>{width}}" for name, width in columns), f"{'peak MB':>8}")
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        queue: multiprocessing.Queue[dict[str, Any]] = context.Queue()
        process = context.Process(target=measure, args=(size, queue))
        process.start()
        row = queue.get()
        process.join()
        print(
            f"{row['size']:>9} {row['ours']:>7.2f} {row['iterations']:>6} {row['piqp']:>7.2f} "
            f"{row['piqp_solved']:>5}/{len(GAMMAS)} {row['piqp'] / row['ours']:>6.2f} {row['deviation']:>9.1e} "
            f"{row['peak_mb']:>8.0f}  solved by {', '.join(row['by'])}",
            flush=True,
        )


if __name__ == "__main__":
    main()
