"""Celery tasks (``celery -A workers.tasks worker``, as in the original).

A job runs as ``run_job`` (fetch and parse once), then a chord: a group of
``solve_chunk`` tasks that any worker can take, and ``assemble_job`` when all
are done; ``deliver_callback`` follows for jobs with a callback. Tasks take
ids and scalars only; the request and the parsed data stay in Redis.
"""

from functools import cache

import httpx
from celery import chord
from celery.signals import task_postrun, task_prerun, worker_process_init
from structlog.contextvars import bind_contextvars, clear_contextvars
from threadpoolctl import threadpool_limits

from swagger_server.adapters.callbacks import Allowlist
from swagger_server.adapters.data_source import DataSource
from swagger_server.adapters.job_store import JobStore
from swagger_server.adapters.sources import make_data_source
from swagger_server.adapters.workspace import JobWorkspace
from swagger_server.logging import configure_logging
from swagger_server.settings import get_settings
from workers.callback_delivery import DeliveryPolicy, deliver_step
from workers.celery_app import ASSEMBLE_JOB_TASK, DELIVER_CALLBACK_TASK, RUN_JOB_TASK, SOLVE_CHUNK_TASK, app
from workers.fanout import plan_chunks
from workers.pricing import assemble_job, guarded, prepare_job, solve_chunk

__all__ = ["app", "assemble_job_task", "deliver_callback", "run_job", "solve_chunk_task"]


@cache
def job_store() -> JobStore:
    """This worker process's job store."""
    settings = get_settings()
    return JobStore.from_url(settings.broker_url, settings.job_retention_days)


@cache
def workspace() -> JobWorkspace:
    """This worker process's view of running jobs' working data."""
    return job_store().workspace(get_settings().workspace_ttl)


@cache
def data_source() -> DataSource:
    """This worker process's data source."""
    return make_data_source(get_settings())


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


@worker_process_init.connect
def _configure_worker_process(**_: object) -> None:
    """Set up logging and limit BLAS threads in each worker process.

    An idle OpenBLAS thread spins on a second core (measured: CPU time twice
    the wall time for the same solve), which starves a sibling worker process.
    """
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    threadpool_limits(limits=settings.worker_blas_threads)


@task_prerun.connect
def _bind_job_id(task_id: str, args: tuple[object, ...] | None = None, **_: object) -> None:
    """Every log line of a task carries its job id (every task's first argument) and task id."""
    clear_contextvars()
    bind_contextvars(job_id=args[0] if args else None, task_id=task_id)


@task_postrun.connect
def _unbind_job_id(**_: object) -> None:
    clear_contextvars()


@app.task(name=RUN_JOB_TASK, acks_late=True)
def run_job(job_id: str) -> None:
    """Fetch and parse job ``job_id`` once, then fan its gamma values out to the workers."""
    settings = get_settings()
    gammas = guarded(
        job_id,
        job_store(),
        "",
        settings.task_soft_time_limit,
        lambda: prepare_job(job_id, job_store(), workspace(), data_source()),
    )
    if gammas is None:
        return
    chunks = plan_chunks(len(gammas), settings.gammas_per_task)
    header = [solve_chunk_task.si(job_id, chunk) for chunk in chunks]
    outcome = chord(header)(assemble_job_task.si(job_id))
    workspace().remember_tasks(job_id, [r.id for r in outcome.parent.results])


@app.task(name=SOLVE_CHUNK_TASK, acks_late=True, ignore_result=False, bind=True)
def solve_chunk_task(self, job_id: str, indices: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Solve some of a job's gamma values; a failure ends the job FAILURE naming them."""
    hostname = self.request.hostname or "worker"
    gammas = workspace().gammas(job_id)
    what = "solving gamma " + ", ".join(f"{gammas[i]:g}" for i in indices if i < len(gammas))
    guarded(
        job_id,
        job_store(),
        what,
        get_settings().task_soft_time_limit,
        lambda: solve_chunk(job_id, indices, job_store(), workspace(), hostname),
    )


@app.task(name=ASSEMBLE_JOB_TASK, acks_late=True)
def assemble_job_task(job_id: str) -> None:
    """Store the job's result once every gamma is solved, then hand its callback to delivery."""
    succeeded = guarded(
        job_id,
        job_store(),
        "assembling the result",
        get_settings().task_soft_time_limit,
        lambda: assemble_job(job_id, job_store(), workspace()),
    )
    if succeeded and job_store().get(job_id, with_result=False).request.get("callback"):
        deliver_callback.delay(job_id)


@app.task(name=DELIVER_CALLBACK_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def deliver_callback(job_id: str) -> None:
    """One callback attempt; schedules the next one (exponential backoff) while delivery is pending."""
    delay = deliver_step(job_id, job_store(), delivery_policy())
    if delay is not None:
        deliver_callback.apply_async(args=[job_id], countdown=delay)
