"""Sending a job's next tasks, by name: the fan-out after parsing, and what the sweeper re-sends for a stuck job."""

import structlog
from celery import Celery

from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobState
from swagger_server.core.task_queue import ASSEMBLE_JOB_TASK, DELIVER_CALLBACK_TASK, RUN_JOB_TASK, SOLVE_CHUNK_TASK
from swagger_server.core.workspace import JobWorkspace
from workers.job_steps import plan_chunks

logger = structlog.get_logger(__name__)


def fan_out(app: Celery, workspace: JobWorkspace, job_id: str, indices: list[int], gammas_per_task: int) -> None:
    """Send solve tasks for the job's gammas at ``indices`` and remember them (a cancel revokes them)."""
    sent = [app.send_task(SOLVE_CHUNK_TASK, args=[job_id, chunk]) for chunk in plan_chunks(indices, gammas_per_task)]
    workspace.remember_tasks(job_id, [result.id for result in sent])


def assemble(app: Celery, job_id: str) -> None:
    """Send the job's assembly."""
    app.send_task(ASSEMBLE_JOB_TASK, args=[job_id])


def drive_on(app: Celery, store: JobStore, workspace: JobWorkspace, job_id: str, gammas_per_task: int) -> str:
    """Re-send what a stuck job misses: its first task, its unsolved gammas, or its assembly; returns which."""
    gammas = workspace.gammas(job_id)
    if store.state(job_id) is JobState.QUEUED or not gammas or not workspace.has_input(job_id):
        app.send_task(RUN_JOB_TASK, args=[job_id])
        return "run_job"
    missing = sorted(set(range(len(gammas))) - workspace.done(job_id))
    if missing:
        fan_out(app, workspace, job_id, missing, gammas_per_task)
        return f"solve {len(missing)} gamma values"
    assemble(app, job_id)
    return "assemble"


def deliver(app: Celery, job_id: str) -> None:
    """Send one attempt of the job's callback (to the deliveries' own queue, by the shared routes)."""
    app.send_task(DELIVER_CALLBACK_TASK, args=[job_id])
