"""Celery tasks (``celery -A workers.tasks worker``, as in the original): thin wrappers of :mod:`workers.job_steps`.

A job runs as ``run_job`` (fetch and parse once), then a chord: a group of
``solve_chunk`` tasks that any worker can take, and ``assemble_job`` when all
are done; ``deliver_callback`` follows for jobs with a callback. Tasks take
ids and scalars only; the request and the parsed data stay in Redis.

Retry policy, written on each task: the job steps re-raise transient
Redis/broker errors (:data:`workers.job_steps.TRANSIENT_ERRORS`), which are
retried with exponential backoff and jitter, at most 3 times; every other
error ends the job FAILURE at the task boundary and is never retried.
Callback delivery schedules its own next attempt instead (its policy lives in
:class:`~swagger_server.core.callbacks.DeliveryPolicy`).
"""

from functools import cache

from celery import Task, chord

from swagger_server.core.callbacks import DeliveryPolicy
from swagger_server.core.data_sources import DataSource, make_data_source
from swagger_server.core.job_store import JobStore
from swagger_server.core.settings import get_settings
from swagger_server.core.task_queue import ASSEMBLE_JOB_TASK, DELIVER_CALLBACK_TASK, RUN_JOB_TASK, SOLVE_CHUNK_TASK
from swagger_server.core.workspace import JobWorkspace
from workers.callback_delivery import deliver_step
from workers.celery_app import app
from workers.job_steps import TRANSIENT_ERRORS, assemble_job, guarded, plan_chunks, prepare_job, solve_chunk

__all__ = ["app", "assemble_job_task", "deliver_callback", "run_job", "solve_chunk_task"]

#: Retries of a job step: transient store/broker errors only, backoff 1, 2, 4 s (capped at 30) with jitter.
STEP_RETRIES = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 3,
}


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
    return DeliveryPolicy.from_settings(get_settings())


@app.task(name=RUN_JOB_TASK, acks_late=True, **STEP_RETRIES)
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
    header = [solve_chunk_task.si(job_id, chunk) for chunk in plan_chunks(len(gammas), settings.gammas_per_task)]
    outcome = chord(header)(assemble_job_task.si(job_id))
    workspace().remember_tasks(job_id, [r.id for r in outcome.parent.results])


@app.task(name=SOLVE_CHUNK_TASK, acks_late=True, ignore_result=False, bind=True, **STEP_RETRIES)
def solve_chunk_task(self: Task, job_id: str, indices: list[int]) -> None:
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


@app.task(name=ASSEMBLE_JOB_TASK, acks_late=True, **STEP_RETRIES)
def assemble_job_task(job_id: str) -> None:
    """Store the job's result once every gamma is solved, then hand its callback to delivery."""
    succeeded = guarded(
        job_id,
        job_store(),
        "assembling the result",
        get_settings().task_soft_time_limit,
        lambda: assemble_job(job_id, job_store(), workspace()),
    )
    if succeeded and job_store().get(job_id, with_result=False).request.callback is not None:
        deliver_callback.delay(job_id)


@app.task(name=DELIVER_CALLBACK_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def deliver_callback(job_id: str) -> None:
    """One callback attempt; schedules the next one (exponential backoff) while delivery is pending."""
    delay = deliver_step(job_id, job_store(), delivery_policy())
    if delay is not None:
        deliver_callback.apply_async(args=[job_id], countdown=delay)
