"""Celery tasks (``celery -A workers.tasks worker``, as in the original).

Tasks take ids only; the request stays in the job store. The work and the
task boundary's error handling live in :mod:`workers.pricing`.
"""

from functools import cache

from celery.signals import worker_process_init

from swagger_server.adapters.data_source import DataSource
from swagger_server.adapters.job_store import JobStore
from swagger_server.adapters.sources import make_data_source
from swagger_server.logging import configure_logging
from swagger_server.settings import get_settings
from workers.celery_app import RUN_JOB_TASK, app
from workers.pricing import run_job_guarded

__all__ = ["app", "run_job"]


@cache
def job_store() -> JobStore:
    """This worker process's job store."""
    settings = get_settings()
    return JobStore.from_url(settings.broker_url, settings.job_retention_days)


@cache
def data_source() -> DataSource:
    """This worker process's data source."""
    return make_data_source(get_settings())


@worker_process_init.connect
def _configure_worker_logging(**_: object) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@app.task(name=RUN_JOB_TASK, acks_late=True)
def run_job(job_id: str) -> str:
    """Run pricing job ``job_id`` to SUCCESS, FAILURE or REVOKED."""
    return run_job_guarded(job_id, job_store(), data_source(), get_settings().task_soft_time_limit)
