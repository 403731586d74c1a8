"""The API's side of the queue: a Celery client that sends tasks by name, revokes them, checks the broker."""

from celery import Celery

from swagger_server.core.settings import Settings
from swagger_server.core.task_queue import RUN_JOB_TASK, celery_app
from swagger_server.core.workspace import JobWorkspace


class JobQueue:
    """Puts job ids on the queue the workers read; never imports the workers' code."""

    def __init__(self, settings: Settings, workspace: JobWorkspace) -> None:
        self.celery: Celery = celery_app(settings)
        self.queue = settings.celery_queue
        self.workspace = workspace

    def enqueue(self, job_id: str) -> None:
        """Queue a job's first task (raises the broker's error when it is unreachable)."""
        self.celery.send_task(RUN_JOB_TASK, args=[job_id], task_id=job_id, queue=self.queue)

    def revoke(self, job_id: str) -> None:
        """Drop the job's queued tasks: its first task and any solve tasks not started yet."""
        self.celery.control.revoke([job_id, *self.workspace.task_ids(job_id)])

    def check_broker(self) -> None:
        """Raise when the broker does not answer within 2 s (readiness)."""
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
