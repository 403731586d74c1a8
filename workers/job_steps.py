"""Run one pricing job across workers: prepare once, solve gamma chunks anywhere, assemble once.

1. :func:`prepare_job` (one task): mark the job started, fetch the documents,
   parse and validate them into a portfolio, store it once in the job's
   workspace. Bad data ends the job FAILURE here, with the parser's message.
2. :func:`plan_chunks` splits the gammas into solve tasks (decided here only);
   :func:`solve_chunk` (one task per chunk, on any worker) loads the parsed
   job, sets the QP up once (a worker keeps it, with the solver's anchors, for
   the job's next task there), solves its gammas and stores each one's KPIs and
   the job's progress. A revoked job stops after the current gamma. It says
   whether every gamma of the job is now stored: the task that sees so sends
   the assembly (a redelivered task may send it twice; the second does nothing).
3. :func:`assemble_job` (one task): build plots and raw data from the stored
   KPIs, store the result, mark the job SUCCESS.

These are plain functions of the stores and the data source;
:mod:`workers.tasks` wires them into Celery. They are idempotent: a
redelivered task finds the job's state and the stored gammas and does no harm.
:func:`guarded` is the task boundary every step runs inside.
"""

import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import redis
import structlog
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError

from BRTP import (
    BrtpError,
    BrtpOptions,
    GammaKpis,
    GammaOutcome,
    PricingProblem,
    flex_request_from_documents,
    normalise_gammas,
    portfolio_from_documents,
    pricing_data,
    solve_gammas,
)
from BRTP.data.serialize import dataset_from_bytes, job_from_bytes, job_to_bytes
from BRTP.solve import make_solver
from swagger_server.core.central_db import CentralDbUnavailable
from swagger_server.core.data_sources import DataSource
from swagger_server.core.errors import DataSourceError
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobState
from swagger_server.core.settings import get_settings
from swagger_server.core.workspace import JobWorkspace
from workers.solver_cache import JobSolver, KeptSolver

logger = structlog.get_logger(__name__)
T = TypeVar("T")

#: Errors of Redis or the broker that a retry of the task may get past: re-raised, never stored on the job.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, OperationalError)


#: The problem and solver (assembled QP, interior-point anchors) of the job this worker process solved last.
kept_solver = KeptSolver(get_settings().kept_solver_idle_seconds)


class JobCancelled(Exception):
    """The job was revoked while it ran; the worker stops after the current gamma."""


class TaskKeptDying(Exception):
    """A task started more than ``TASK_MAX_STARTS`` times without finishing: the process running it dies.

    A worker process killed mid-task (out of memory, past ``TASK_TIME_LIMIT``) or
    crashed gives its task back to the broker, which hands it out again; without
    a count, a task that kills its process every time would go round for ever.
    """


def count_start(workspace: JobWorkspace, job_id: str, delivery: str, max_starts: int) -> None:
    """Count one more start of the job's task ``delivery``; :class:`TaskKeptDying` at start ``max_starts + 1``.

    ``delivery`` is the task id and retry number: the same each time the broker
    hands the message out again after its process died, new for each retry (a
    retry is a task that ended, not one that died).
    """
    starts = workspace.count_start(job_id, delivery)
    if starts > max_starts:
        raise TaskKeptDying(
            f"the worker process running this step stopped {starts - 1} times before it finished (killed, most "
            "likely for lack of memory or past TASK_TIME_LIMIT, or crashed); submit fewer prosumers or gamma values, "
            "or give each worker process more memory"
        )


def guarded(
    job_id: str,
    store: JobStore,
    what: str,
    soft_time_limit: int,
    work: Callable[[], T],
    *,
    retry_unavailable: bool = False,
) -> T | None:
    """The task boundary: run ``work``; any exception ends the job FAILURE with a message a user can act on.

    The only place that catches every exception: it logs it and stores the
    traceback with the job (the API shows it only when DEBUG is on); other
    jobs go on. Returns what ``work`` returned, or None if it raised.
    Transient Redis/broker errors are re-raised for the task to retry (if
    they outlast the retries, the sweeper finds the job); so is an
    unreachable central DB while ``retry_unavailable`` (the task has retries
    left), after which it fails the job with the client's message.
    """
    try:
        return work()
    except JobCancelled:
        logger.info("job.cancelled", job_id=job_id)
    except TRANSIENT_ERRORS as exc:
        logger.warning("job.transient_error", job_id=job_id, error=exc)
        raise
    except CentralDbUnavailable as exc:
        if retry_unavailable:
            logger.warning("job.data_source_unavailable", job_id=job_id, error=exc, retry=True)
            raise
        logger.info("job.failed", job_id=job_id, error=exc)
        store.mark_failure(job_id, f"{what}: {exc}" if what else str(exc))
    except (BrtpError, DataSourceError, TaskKeptDying) as exc:  # the worker logged each death (WorkerLostError)
        logger.info("job.failed", job_id=job_id, error=exc)
        store.mark_failure(job_id, f"{what}: {exc}" if what else str(exc))
    except SoftTimeLimitExceeded:
        logger.warning("job.timeout", job_id=job_id, limit_seconds=soft_time_limit)
        store.mark_failure(
            job_id,
            f"{what or 'the job'} exceeded the time limit of {soft_time_limit} s; "
            "submit fewer prosumers or gamma values",
        )
    except Exception as exc:
        logger.exception("job.crashed", job_id=job_id)
        store.mark_failure(
            job_id,
            f"internal error {'in ' + what + ' ' if what else ''}({type(exc).__name__}); it has been logged",
            traceback.format_exc(),
        )
    return None


def prepare_job(job_id: str, store: JobStore, workspace: JobWorkspace, source: DataSource) -> list[float] | None:
    """Fetch and parse a job's data once; its gamma list, or None if the job is not to run.

    The data comes from the job's uploaded dataset (stored parsed: cut out, not
    parsed again) or, without one, from ``source`` (sample files or central DB).
    """
    if not store.mark_started(job_id):
        logger.info("job.skipped", job_id=job_id, state=store.state(job_id))
        return None
    request = store.get(job_id, with_result=False).request
    if request.dataset is not None:
        arrays = store.datasets.arrays(request.dataset)
        if arrays is None:
            raise DataSourceError(f"the dataset {request.dataset} was deleted before the job started")
        dataset = dataset_from_bytes(arrays)
        portfolio, flex_request = dataset.job(
            request.flex_request, request.dr_prosumers, request.start_datetime, request.end_datetime
        )
    else:
        docs = source.fetch(request.dr_prosumers, request.flex_request, request.start_datetime, request.end_datetime)
        portfolio = portfolio_from_documents(
            docs.prosumers,
            docs.curtailable_loads,
            docs.load_entries,
            request.start_datetime,
            request.end_datetime,
            user_names=request.dr_prosumers,
        )
        flex_request = flex_request_from_documents(docs.flex_request, docs.flex_request_data_points, portfolio.grid)
    gammas = normalise_gammas(request.gamma_values)
    workspace.save_input(job_id, job_to_bytes(portfolio, flex_request), gammas)
    logger.info("job.prepared", job_id=job_id, users=portfolio.n_users, gammas=len(gammas))
    return gammas


def plan_chunks(indices: list[int], gammas_per_task: int) -> list[list[int]]:
    """Gamma indices per solve task, in order: ``gammas_per_task`` each (the last may have fewer).

    One gamma per task spreads a job over every free worker; larger chunks
    set the model up fewer times (it is compiled once per task and re-solved
    for each of its gammas).
    """
    size = max(1, gammas_per_task)
    return [indices[start : start + size] for start in range(0, len(indices), size)]


def solve_chunk(job_id: str, indices: list[int], store: JobStore, workspace: JobWorkspace, solved_by: str) -> bool:
    """Solve the job's gammas at ``indices`` (skipping any already stored) and record progress.

    Returns True when every gamma of the running job is stored (time to assemble).
    """
    if store.state(job_id) is not JobState.RUNNING:
        return False
    gammas = workspace.gammas(job_id)
    todo = [i for i in indices if i not in workspace.done(job_id)]
    has_input = workspace.has_input(job_id)
    if not todo or not has_input:
        return has_input and len(workspace.done(job_id)) == len(gammas)
    kept = _job_solver(job_id, store, workspace)
    if kept is None:  # the working data expired since
        return False
    problem, solver = kept
    pending = iter(todo)

    def keep(outcome: GammaOutcome) -> None:
        index = next(pending)
        store.metrics.gamma_solved(outcome.solution.solve_seconds)
        done = workspace.save_gamma(job_id, index, replace(outcome.kpis, solved_by=solved_by).to_dict())
        if not store.set_progress(job_id, done / len(gammas)):
            raise JobCancelled(job_id)

    _, timings = solve_gammas(problem, [gammas[i] for i in todo], BrtpOptions(), on_outcome=keep, solver=solver)
    logger.info(
        "solve.done",
        job_id=job_id,
        gammas=[gammas[i] for i in todo],
        by=solved_by,
        build_seconds=round(timings.build, 4),
        solve_seconds=round(timings.solve, 4),
        kpi_seconds=round(timings.kpis, 4),
    )
    finished = len(workspace.done(job_id)) == len(gammas)
    if finished:
        kept_solver.drop(job_id)
    else:
        kept_solver.keep(job_id, kept)  # its idle time counts from now
    return finished


def _job_solver(job_id: str, store: JobStore, workspace: JobWorkspace) -> JobSolver | None:
    """The job's problem and solver: kept from the job's previous task here, else made from its parsed data.

    The data is read only to make them; ``None`` if it has expired. Kept for the job's next task
    (:mod:`workers.solver_cache` says until when).
    """
    kept = kept_solver.get(job_id)
    if kept is None:
        kept_solver.clear()  # another job's QP goes before this one's is made
        data = workspace.load_input(job_id)
        if data is None:
            return None
        portfolio, flex_request = job_from_bytes(data)
        request = store.get(job_id, with_result=False).request
        problem = PricingProblem(portfolio, flex_request, request.profit_margin)
        kept = (problem, make_solver(problem, BrtpOptions()))
        kept_solver.keep(job_id, kept)
    return kept


def assemble_job(job_id: str, store: JobStore, workspace: JobWorkspace) -> bool:
    """Put the solved gammas together into the job's result; True if the job succeeded now.

    With gammas still unsolved (an early or repeated assembly) it does
    nothing: their tasks send the assembly again, or the sweeper re-sends them.
    """
    if store.state(job_id) is not JobState.RUNNING:
        workspace.clear(job_id)
        return False
    gammas = workspace.gammas(job_id)
    results = workspace.results(job_id)
    missing = [g for i, g in enumerate(gammas) if i not in results]
    data = workspace.load_input(job_id)
    if missing or data is None:
        logger.warning("job.assembly_early", job_id=job_id, missing_gammas=missing, input_found=data is not None)
        return False
    portfolio, _ = job_from_bytes(data)
    kpis = [GammaKpis.from_dict(results[i]) for i in range(len(gammas))]
    result = pricing_data(portfolio.user_names, portfolio.grid.labels(), kpis, portfolio.warnings)
    succeeded = store.mark_success(job_id, result)
    workspace.clear(job_id)
    logger.info("job.succeeded" if succeeded else "job.cancelled", job_id=job_id)
    return succeeded
