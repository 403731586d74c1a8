"""Run one pricing job: fetch documents, build the portfolio, solve every gamma, store the result.

Plain functions of a job store and a data source, so that they can be tested
without Celery; :mod:`workers.tasks` wraps them in tasks.
"""

import logging
import traceback
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from BRTP import (
    BrtpError,
    BrtpOptions,
    flex_request_from_documents,
    plots,
    portfolio_from_documents,
    raw_data,
    run_brtp,
)
from swagger_server.adapters.data_source import DataSource, DataSourceError
from swagger_server.adapters.job_store import JobStore

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """The job was revoked while it ran; the worker stops after the current gamma."""


def compute_result(request: dict[str, Any], source: DataSource, progress: Any) -> dict[str, Any]:
    """The ``PricingData`` of a request: plots, raw data and warnings (no callback yet)."""
    docs = source.fetch(
        request["dr_prosumers"], request["flex_request"], request["start_datetime"], request["end_datetime"]
    )
    portfolio = portfolio_from_documents(
        docs.prosumers,
        docs.curtailable_loads,
        docs.load_entries,
        request["start_datetime"],
        request["end_datetime"],
        user_names=request["dr_prosumers"],
    )
    flex_request = flex_request_from_documents(docs.flex_request, docs.flex_request_data_points, portfolio.grid)
    result = run_brtp(
        portfolio, flex_request, request["profit_margin"], request["gamma_values"], BrtpOptions(), progress=progress
    )
    logger.info(
        "solve.done users=%d gammas=%d build=%.3fs solve=%.3fs kpis=%.3fs",
        portfolio.n_users,
        len(result.outcomes),
        result.timings.build,
        result.timings.solve,
        result.timings.kpis,
    )
    return {
        "plots": plots(result),
        "raw_data": raw_data(result),
        "callback_result": None,
        "warnings": list(result.warnings),
    }


def execute_job(job_id: str, store: JobStore, source: DataSource) -> str:
    """Run a job to its end state and return that state.

    Idempotent: a finished or revoked job is left as it is, so a redelivered
    task does nothing. Bad data ends the job FAILURE with the parser's message.
    """
    if not store.mark_started(job_id):
        status = store.status(job_id)
        logger.info("job.skipped job_id=%s status=%s", job_id, status)
        return str(status)
    request = store.get(job_id, with_result=False).request

    def progress(done: int, total: int) -> None:
        if not store.set_progress(job_id, done / total):
            raise JobCancelled(job_id)

    try:
        result = compute_result(request, source, progress)
    except JobCancelled:
        logger.info("job.cancelled job_id=%s", job_id)
        return "REVOKED"
    except (BrtpError, DataSourceError) as exc:
        logger.info("job.failed job_id=%s error=%s", job_id, exc)
        store.mark_failure(job_id, str(exc))
        return "FAILURE"
    if not store.mark_success(job_id, result):
        logger.info("job.cancelled job_id=%s (after the last gamma)", job_id)
        return str(store.status(job_id))
    logger.info("job.succeeded job_id=%s", job_id)
    return "SUCCESS"


def run_job_guarded(job_id: str, store: JobStore, source: DataSource, soft_time_limit: int) -> str:
    """The task boundary: run the job, and turn any exception into a FAILURE a user can act on.

    The only place that catches every exception: it logs it, stores the
    traceback with the job (the API shows it only when DEBUG is on) and
    re-raises so that Celery records the crash; other jobs go on.
    """
    try:
        return execute_job(job_id, store, source)
    except SoftTimeLimitExceeded:
        logger.warning("job.timeout job_id=%s limit=%ss", job_id, soft_time_limit)
        store.mark_failure(
            job_id, f"the job exceeded the time limit of {soft_time_limit} s; submit fewer prosumers or gamma values"
        )
        return "FAILURE"
    except Exception as exc:
        logger.exception("job.crashed job_id=%s", job_id)
        store.mark_failure(
            job_id,
            f"internal error while running the job ({type(exc).__name__}); it has been logged",
            traceback.format_exc(),
        )
        raise
