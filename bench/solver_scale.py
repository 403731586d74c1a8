"""Benchmark: the structure-exploiting interior-point method against PIQP at its defaults, same QP, same run.

For generated portfolios (24 hourly slots, 1-4 shiftable devices of 1-3 h and
0-2 EVs per prosumer, 4-step offers, an all-day 4-step request) and 11 gamma
values from 0 to 2, prints per size, each figure from its own fresh process
(so peak memory is that method's):

- the certified solve of the new path (``BrtpOptions()``: interior point, PIQP
  fallback) on one thread and with one thread per core, and its iterations
  (the anchor's included); the same on one thread with every gamma started
  cold (``anchored_starts=False``, the path before anchors), and its iterations;
- PIQP with its default settings on the same assembled matrices (the
  baseline), its iterations, how many gammas it ran and solved; it starts no
  new gamma after ``--piqp-budget`` seconds (at 30 000 prosumers one gamma
  takes minutes), so its time may cover fewer than 11;
- the ratios of time per gamma (one thread each; and all cores against PIQP's one);
- the largest relative difference of the objective, and of the aggregate
  load ``L``, where both solved.

``--parquet N`` then runs N prosumers from the tidy Parquet input (written by
``BRTP.data.package.write_package``, read back with ``load_dataset``, as
``brtp run`` does) through the new path with one thread per core, cold
starts and then anchored ones, and prints the load time, solve time,
iterations and peak memory of each.

    python -m bench.solver_scale [--sizes 3000 10000 30000] [--parquet 100000]
"""

import argparse
import logging
import multiprocessing
import os
import platform
import queue as queue_module
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import piqp
import scipy.sparse as sp

from bench.memory import peak_memory_mb
from BRTP import BrtpOptions, PricingProblem, solve_gammas
from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.synthetic import REQUEST, synthetic_dataset
from BRTP.interior_point import AGAIN_EVERY_COLUMN
from BRTP.matrices import assemble_qp

GAMMAS = [0.2 * k for k in range(11)]
CORES = os.cpu_count() or 1
Figures = dict[str, Any]


def problem_of(size: int) -> PricingProblem:
    """The generated portfolio of ``size`` prosumers, priced against its all-day request."""
    portfolio, request = synthetic_dataset(size, seed=size).job(REQUEST)
    return PricingProblem(portfolio, request, 0.2)


class AnchorIterations(logging.Handler):
    """Sums the iterations the interior-point method spent on its anchors (``ipm.anchored`` records)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.iterations = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Add ``record``'s iterations if it is an anchor's."""
        if record.msg == "ipm.anchored":
            self.iterations += getattr(record, "iterations", None) or 0


class SolvedAgain(logging.Handler):
    """Counts the gammas the interior-point method solved again after settling wrongly (``ipm.settled_wrongly``).

    ``kept_in``: again with the wrong columns' devices kept in the systems; ``every_column``: with every column.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.kept_in, self.every_column = 0, 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count ``record`` if it is the event, by how the gamma was solved again."""
        if record.msg == "ipm.settled_wrongly":
            if getattr(record, "again", None) == AGAIN_EVERY_COLUMN:
                self.every_column += 1
            else:
                self.kept_in += 1

    def __str__(self) -> str:
        """How many gammas were solved again, each way."""
        kept_in, every = self.kept_in, self.every_column
        return f"solved again: {kept_in} keeping the wrong columns' devices in, {every} with every column"


def counting() -> tuple[SolvedAgain, AnchorIterations]:
    """Handlers on the interior-point method's log: gammas solved again, anchors' iterations."""
    resolved, anchors = SolvedAgain(), AnchorIterations()
    method_log = logging.getLogger("BRTP.interior_point")
    method_log.addHandler(resolved)
    method_log.addHandler(anchors)
    method_log.setLevel(logging.INFO)
    return resolved, anchors


def new_path(size: int, threads: int, anchored: bool = True) -> Figures:
    """The certified interior-point path, ``threads`` gammas at a time (compiled code warmed up first)."""
    problem = problem_of(size)
    solve_gammas(problem_of(30), [1.0])  # Numba's compiled passes loaded (or compiled) outside the timing
    resolved, anchors = counting()
    started = time.perf_counter()
    outcomes, _ = solve_gammas(problem, GAMMAS, BrtpOptions(threads=threads, anchored_starts=anchored))
    seconds = time.perf_counter() - started
    return {
        "resolved": str(resolved),
        "seconds": seconds,
        "iterations": anchors.iterations + sum(o.solution.iterations for o in outcomes),
        "by": sorted({o.solution.solver for o in outcomes}),
        "objective": [o.solution.objective for o in outcomes],
        "load": [list(o.kpis.final_load_kw) for o in outcomes],
        "peak_mb": peak_memory_mb(),
    }


def piqp_defaults(size: int, budget: float) -> Figures:
    """PIQP at its default settings on the assembled QP, set up once, linear costs updated per gamma.

    No gamma is started once ``budget`` seconds have passed.
    """
    problem = problem_of(size)
    qp = assemble_qp(problem)
    started = time.perf_counter()
    solver = piqp.SparseSolver()
    objective: list[float | None] = []
    load: list[list[float] | None] = []
    iterations = 0
    for k, gamma in enumerate(GAMMAS):
        if time.perf_counter() - started > budget:
            break
        costs = qp.linear_costs(gamma)
        if k == 0:
            solver.setup(sp.diags(qp.p_diag, format="csc"), costs, qp.a_eq, qp.b_eq, qp.g_ineq, None, qp.h_ineq,
                         qp.lower, qp.upper)  # fmt: skip
        else:
            solver.update(c=costs)
        status = solver.solve()
        iterations += int(solver.result.info.iter)
        x = np.asarray(solver.result.x)
        solved = status == piqp.PIQP_SOLVED
        objective.append(qp.objective(x, gamma) if solved else None)
        load.append(qp.layout.unpack(x).L.tolist() if solved else None)
    return {
        "seconds": time.perf_counter() - started,
        "iterations": iterations,
        "objective": objective,
        "load": load,
        "peak_mb": peak_memory_mb(),
    }


def from_parquet(size: int, folder: str, anchored: bool) -> Figures:
    """``size`` prosumers read back from a tidy Parquet package, then solved with one thread per core."""
    started = time.perf_counter()
    portfolio, request = load_dataset(Path(folder)).job(REQUEST)  # as brtp run: the tables go once the job is cut
    load_seconds = time.perf_counter() - started
    solve_gammas(problem_of(30), [1.0])  # compiled passes loaded outside the timing
    resolved, anchors = counting()
    started = time.perf_counter()
    options = BrtpOptions(threads=CORES, anchored_starts=anchored)
    outcomes, _ = solve_gammas(PricingProblem(portfolio, request, 0.2), GAMMAS, options)
    return {
        "resolved": str(resolved),
        "users": portfolio.n_users,
        "load_seconds": load_seconds,
        "seconds": time.perf_counter() - started,
        "iterations": anchors.iterations + sum(o.solution.iterations for o in outcomes),
        "by": sorted({o.solution.solver for o in outcomes}),
        "peak_mb": peak_memory_mb(),
    }


def _child(target: Callable[..., Figures], args: tuple[Any, ...], queue: "multiprocessing.Queue[Figures]") -> None:
    queue.put(target(*args))


def in_fresh_process(target: Callable[..., Figures], *args: Any) -> Figures:
    """``target(*args)`` in a new process (spawned, so its peak memory is its own)."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[Figures] = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    while True:
        try:
            figures = queue.get(timeout=5)
        except queue_module.Empty:
            if not process.is_alive():
                raise RuntimeError(f"{target.__name__}{args} died with exit code {process.exitcode}") from None
            continue
        process.join()
        return figures


def deviations(ours: Figures, theirs: Figures) -> tuple[str, str]:
    """Largest relative difference of the objective and of ``L`` over the gammas PIQP solved ("-" if none)."""
    objective = load = 0.0
    compared = 0
    for o, t, lo, lt in zip(ours["objective"], theirs["objective"], ours["load"], theirs["load"], strict=False):
        if t is None:
            continue
        compared += 1
        objective = max(objective, abs(o - t) / max(1.0, abs(t)))
        load = max(load, float(np.max(np.abs(np.subtract(lo, lt))) / max(1.0, float(np.max(np.abs(lt))))))
    return (f"{objective:.1e}", f"{load:.1e}") if compared else ("-", "-")


def main() -> None:
    """Run the sizes and print one row each; then the Parquet run if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[3000, 10000, 30000])
    parser.add_argument("--parquet", type=int, help="also run this many prosumers from a tidy Parquet package")
    parser.add_argument("--piqp-budget", type=float, default=600.0, help="seconds after which PIQP starts no gamma")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {CORES} cores, Python {platform.python_version()}, "
          f"PIQP {piqp.__version__}; T = 24, {len(GAMMAS)} gammas; times in s, memory in MB")  # fmt: skip
    header = (
        f"{'prosumers':>9} {'cold 1t':>7} {'iters':>6} {'new 1t':>7} {'new ' + str(CORES) + 't':>7} {'iters':>6} "
        f"{'PIQP':>7} {'iters':>6} "
        f"{'PIQP ran/ok':>11} {'ratio 1t':>8} {'ratio':>6} {'dev obj':>8} {'dev L':>8} {'MB new':>7} {'MB PIQP':>7}"
    )
    print(header)
    for size in args.sizes:
        cold = in_fresh_process(new_path, size, 1, False)
        single = in_fresh_process(new_path, size, 1)
        threaded = in_fresh_process(new_path, size, CORES)
        ours = (
            f"{size:>9} {cold['seconds']:>7.2f} {cold['iterations']:>6} {single['seconds']:>7.2f} "
            f"{threaded['seconds']:>7.2f} {single['iterations']:>6}"
        )
        started = time.perf_counter()
        try:
            baseline = in_fresh_process(piqp_defaults, size, args.piqp_budget)
        except RuntimeError as crash:  # PIQP has crashed (SIGSEGV) on 30 000 prosumers: say so, keep ours
            print(
                f"{ours}  PIQP: {crash} after {time.perf_counter() - started:.0f} s; "
                f"new path peak {single['peak_mb']:.0f} MB, solved by {', '.join(single['by'])}; "
                f"{single['resolved']}",
                flush=True,
            )
            continue
        dev_objective, dev_load = deviations(single, baseline)
        ran = len(baseline["objective"])
        solved = sum(t is not None for t in baseline["objective"])
        piqp_per_gamma = baseline["seconds"] / ran
        print(
            f"{ours} {baseline['seconds']:>7.2f} {baseline['iterations']:>6} {f'{ran}/{solved}/{len(GAMMAS)}':>11} "
            f"{piqp_per_gamma * len(GAMMAS) / single['seconds']:>8.2f} "
            f"{piqp_per_gamma * len(GAMMAS) / threaded['seconds']:>6.2f} "
            f"{dev_objective:>8} {dev_load:>8} {single['peak_mb']:>7.0f} {baseline['peak_mb']:>7.0f}"
            f"  solved by {', '.join(single['by'])}; {single['resolved']}",
            flush=True,
        )
    if args.parquet:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            write_package(synthetic_dataset(args.parquet, seed=args.parquet), Path(folder), "parquet")
            written = time.perf_counter() - started
            rows = {warm: in_fresh_process(from_parquet, args.parquet, folder, warm) for warm in (False, True)}
        for anchored, row in rows.items():
            print(
                f"\n{row['users']} prosumers from tidy Parquet ({written:.1f} s to generate and write), "
                f"{'anchored starts' if anchored else 'cold starts (baseline)'}: load {row['load_seconds']:.1f} s, "
                f"solve {len(GAMMAS)} gammas on {CORES} threads {row['seconds']:.1f} s "
                f"({row['iterations']} iterations, solved by {', '.join(row['by'])}, "
                f"{row['resolved']}), peak memory {row['peak_mb']:.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
