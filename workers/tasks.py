"""Celery tasks (``celery -A workers.tasks worker``, as in the original).

Tasks take ids only; the request stays in the job store. The task boundary
is the one place that catches every exception: it logs it, marks the job
FAILURE with a message a user can act on (and the traceback when DEBUG is
on), and lets other jobs go on.
"""

import logging
import traceback
from functools import cache

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init

from swagger_server.adapters.data_source import DataSource, SampleDataSource
from swagger_server.adapters.job_store import JobStore
from swagger_server.logging import configure_logging
from swagger_server.settings import get_settings
from workers.celery_app import RUN_JOB_TASK, app
from workers.pricing import execute_job

logger = logging.getLogger(__name__)

__all__ = ["app", "run_job"]


@cache
def job_store() -> JobStore:
    """This worker process's job store."""
    settings = get_settings()
    return JobStore.from_url(settings.broker_url, settings.job_retention_days)


@cache
def data_source() -> DataSource:
    """This worker process's data source."""
    return SampleDataSource(get_settings().sample_data_dir)


@worker_process_init.connect
def _configure_worker_logging(**_: object) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@app.task(name=RUN_JOB_TASK, acks_late=True)
def run_job(job_id: str) -> str:
    """Run pricing job ``job_id`` to SUCCESS, FAILURE or REVOKED."""
    store = job_store()
    try:
        return execute_job(job_id, store, data_source())
    except SoftTimeLimitExceeded:
        limit = get_settings().task_soft_time_limit
        logger.warning("job.timeout job_id=%s limit=%ss", job_id, limit)
        store.mark_failure(
            job_id, f"the job exceeded the time limit of {limit} s; submit fewer prosumers or gamma values"
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
