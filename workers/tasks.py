"""Celery tasks (``celery -A workers.tasks worker``, as in the original).

Tasks take ids only; the request stays in the job store. The work and the
task boundary's error handling live in :mod:`workers.pricing`.
"""

from functools import cache

import httpx
from celery.signals import worker_process_init

from swagger_server.adapters.callbacks import Allowlist
from swagger_server.adapters.data_source import DataSource
from swagger_server.adapters.job_store import JobStore
from swagger_server.adapters.sources import make_data_source
from swagger_server.logging import configure_logging
from swagger_server.settings import get_settings
from workers.callback_delivery import DeliveryPolicy, deliver_step
from workers.celery_app import DELIVER_CALLBACK_TASK, RUN_JOB_TASK, app
from workers.pricing import run_job_guarded

__all__ = ["app", "deliver_callback", "run_job"]


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


@cache
def delivery_policy() -> DeliveryPolicy:
    """This worker process's callback policy."""
    settings = get_settings()
    return DeliveryPolicy(
        allowlist=Allowlist.parse(settings.callback_allowlist),
        secret=settings.callback_secret.get_secret_value(),
        timeouts=httpx.Timeout(settings.callback_read_timeout, connect=settings.callback_connect_timeout),
        retry_base=settings.callback_retry_base,
        retry_cap=settings.callback_retry_cap,
        retry_total=settings.callback_retry_total,
    )


@app.task(name=RUN_JOB_TASK, acks_late=True)
def run_job(job_id: str) -> str:
    """Run pricing job ``job_id`` to SUCCESS, FAILURE or REVOKED, then hand its callback to delivery."""
    store = job_store()
    outcome = run_job_guarded(job_id, store, data_source(), get_settings().task_soft_time_limit)
    if outcome == "SUCCESS" and store.get(job_id, with_result=False).request.get("callback"):
        deliver_callback.delay(job_id)
    return outcome


@app.task(name=DELIVER_CALLBACK_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def deliver_callback(job_id: str) -> None:
    """One callback attempt; schedules the next one (exponential backoff) while delivery is pending."""
    delay = deliver_step(job_id, job_store(), delivery_policy())
    if delay is not None:
        deliver_callback.apply_async(args=[job_id], countdown=delay)
