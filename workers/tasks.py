"""Celery tasks (``celery -A workers.tasks worker``, as in the original): thin wrappers of :mod:`workers.job_steps`.

A job runs as ``run_job`` (fetch and parse once), then ``solve_chunk`` tasks
that any worker can take; the one that stores the job's last gamma sends
``assemble_job``; ``deliver_callback`` follows for jobs with a callback.
Tasks take ids and scalars only; the request and the parsed data stay in Redis.

Retry policy, written on each task: the job steps re-raise transient
Redis/broker errors (:data:`workers.job_steps.TRANSIENT_ERRORS`), which are
retried with exponential backoff and jitter; ``run_job`` also retries an
unreachable central DB for about a minute before the job fails with its
message. Every other error ends the job FAILURE at the task boundary and is
never retried. A job step whose worker process dies goes back to the queue
(late acks); each start is counted, and start ``TASK_MAX_STARTS + 1`` of the
same delivery fails the job instead (:func:`counting_starts`). Callback
delivery schedules its own next attempt instead (its policy lives in
:class:`~swagger_server.core.callbacks.DeliveryPolicy`). A job whose tasks
are gone all the same is driven on by :mod:`workers.sweeper`.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from celery import Task
from celery.utils.time import get_exponential_backoff_interval

from swagger_server.core.central_db import CentralDbUnavailable
from swagger_server.core.settings import get_settings
from swagger_server.core.task_queue import ASSEMBLE_JOB_TASK, DELIVER_CALLBACK_TASK, RUN_JOB_TASK, SOLVE_CHUNK_TASK
from workers.callback_delivery import deliver_step
from workers.celery_app import app
from workers.dispatch import assemble, fan_out
from workers.job_steps import TRANSIENT_ERRORS, assemble_job, count_start, guarded, prepare_job, solve_chunk
from workers.resources import data_source, delivery_policy, job_store, workspace
from workers.upkeep import WorkerUpkeep

__all__ = ["app", "assemble_job_task", "deliver_callback", "run_job", "solve_chunk_task"]

T = TypeVar("T")

#: Retries of a job step: transient store/broker errors only, backoff 1, 2, 4 s (capped at 30) with jitter.
STEP_RETRIES = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 3,
}


def outage_retries(window_seconds: float, first: int = 2, cap: int = 30) -> int:
    """How many of Celery's backoff delays (``first`` s, doubling, at most ``cap``) fit in ``window_seconds``."""
    count, waited = 0, 0
    while waited + (delay := get_exponential_backoff_interval(first, count, cap)) <= window_seconds:
        waited += delay
        count += 1
    return count


#: Retries of the data fetch: also an unreachable central DB, 2, 4, 8, 16, 30... s apart for CENTRAL_DB_OUTAGE_SECONDS.
FETCH_RETRIES = STEP_RETRIES | {
    "autoretry_for": (*TRANSIENT_ERRORS, CentralDbUnavailable),
    "retry_backoff": 2,
    "retry_jitter": False,
    "max_retries": max(3, outage_retries(get_settings().central_db_outage_seconds)),
}


def counting_starts(task: Task, job_id: str, work: Callable[[], T]) -> Callable[[], T]:
    """``work``, run once this start of ``task``'s delivery is counted (:func:`workers.job_steps.count_start`).

    The delivery is the task id and retry number: the broker hands the same
    message out again after its process died, so a step that kills its process
    every time fails its job at start ``TASK_MAX_STARTS + 1`` instead of going
    round for ever; a retry (the step ended) starts a count of its own.
    """
    delivery = f"{task.request.id}:{task.request.retries}"

    def started() -> T:
        count_start(workspace(), job_id, delivery, get_settings().task_max_starts)
        return work()

    return started


@app.task(name=RUN_JOB_TASK, acks_late=True, bind=True, **FETCH_RETRIES)
def run_job(self: Task, job_id: str) -> None:
    """Fetch and parse job ``job_id`` once, then fan its gamma values out to the workers."""
    settings = get_settings()
    gammas = guarded(
        job_id,
        job_store(),
        "",
        settings.task_soft_time_limit,
        counting_starts(self, job_id, lambda: prepare_job(job_id, job_store(), workspace(), data_source())),
        retry_unavailable=self.request.retries < outage_retries(settings.central_db_outage_seconds),
    )
    if gammas is not None:
        fan_out(app, workspace(), job_id, list(range(len(gammas))), settings.gammas_per_task)


@app.task(name=SOLVE_CHUNK_TASK, acks_late=True, bind=True, **STEP_RETRIES)
def solve_chunk_task(self: Task, job_id: str, indices: list[int]) -> None:
    """Solve some of a job's gamma values; a failure ends the job FAILURE naming them."""
    hostname = self.request.hostname or "worker"
    gammas = workspace().gammas(job_id)
    what = "solving gamma " + ", ".join(f"{gammas[i]:g}" for i in indices if i < len(gammas))
    all_solved = guarded(
        job_id,
        job_store(),
        what,
        get_settings().task_soft_time_limit,
        counting_starts(self, job_id, lambda: solve_chunk(job_id, indices, job_store(), workspace(), hostname)),
    )
    if all_solved:
        assemble(app, job_id)


@app.task(name=ASSEMBLE_JOB_TASK, acks_late=True, bind=True, **STEP_RETRIES)
def assemble_job_task(self: Task, job_id: str) -> None:
    """Store the job's result once every gamma is solved, then hand its callback to delivery."""
    succeeded = guarded(
        job_id,
        job_store(),
        "assembling the result",
        get_settings().task_soft_time_limit,
        counting_starts(self, job_id, lambda: assemble_job(job_id, job_store(), workspace())),
    )
    if succeeded and job_store().get(job_id, with_result=False).request.callback is not None:
        job_store().expect_callback(job_id, time.time())
        deliver_callback.delay(job_id)


@app.task(name=DELIVER_CALLBACK_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def deliver_callback(job_id: str) -> None:
    """One callback attempt; schedules the next one (exponential backoff) while delivery is pending."""
    delay = deliver_step(job_id, job_store(), delivery_policy())
    if delay is not None:
        deliver_callback.apply_async(args=[job_id], countdown=delay)


app.steps["consumer"].add(WorkerUpkeep)  # heartbeats of held tasks, and the stuck-job sweeper
