"""The workers' Celery app (``celery -A workers.tasks worker``): the shared configuration plus per-process setup."""

from celery.signals import task_postrun, task_prerun, worker_process_init
from structlog.contextvars import bind_contextvars, clear_contextvars
from threadpoolctl import threadpool_limits

from swagger_server.core.logging import configure_logging
from swagger_server.core.settings import get_settings
from swagger_server.core.task_queue import celery_app

app = celery_app(get_settings())


@worker_process_init.connect
def configure_worker_process(**_: object) -> None:
    """Set up logging and limit BLAS threads in each worker process.

    An idle OpenBLAS thread spins on a second core (measured: CPU time twice
    the wall time for the same solve), which starves a sibling worker process.
    """
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    threadpool_limits(limits=settings.worker_blas_threads)


@task_prerun.connect
def bind_job_id(task_id: str, args: tuple[object, ...] | None = None, **_: object) -> None:
    """Every log line of a task carries its job id (every task's first argument) and task id."""
    clear_contextvars()
    bind_contextvars(job_id=args[0] if args else None, task_id=task_id)


@task_postrun.connect
def unbind_job_id(**_: object) -> None:
    """Forget the finished task's log context."""
    clear_contextvars()
