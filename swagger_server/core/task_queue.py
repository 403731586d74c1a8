"""The Celery configuration both sides share: task names, broker, serializer, reliability settings.

The API builds a Celery *client* from it and sends tasks by name
(:mod:`swagger_server.job_queue`); the workers build their app from it and
register the tasks (:mod:`workers.celery_app`). Neither imports the other.

Long-job settings: late acknowledgement with prefetch 1 (a job lost with its
worker is redelivered), started state tracked, soft/hard time limits, and a
Redis visibility timeout above the hard limit wherever Celery reads one, so a
running job is never handed to a second worker. JSON only.
"""

from celery import Celery

from swagger_server.core.settings import Settings

RUN_JOB_TASK = "pricing.run_job"
SOLVE_CHUNK_TASK = "pricing.solve_chunk"
ASSEMBLE_JOB_TASK = "pricing.assemble_job"
DELIVER_CALLBACK_TASK = "pricing.deliver_callback"


def celery_app(settings: Settings) -> Celery:
    """A Celery app configured for ``settings`` (no tasks registered)."""
    # The result backend only serves the chord that joins a job's solve tasks;
    # job state and results live in the job store.
    app = Celery("pricing", broker=settings.broker_url, backend=settings.broker_url)
    transport = {"visibility_timeout": settings.visibility_timeout}
    app.conf.update(
        task_default_queue=settings.celery_queue,
        # Deliveries wait on other people's servers: their own queue and workers, so none holds a solve.
        task_routes={DELIVER_CALLBACK_TASK: {"queue": settings.callback_queue}},
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_expires=86400,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # SIGTERM: let running tasks finish for this long, then stop them; with late acks
        # their messages go back to the queue for another worker.
        worker_soft_shutdown_timeout=settings.worker_soft_shutdown_timeout,
        worker_enable_soft_shutdown_on_idle=True,
        worker_send_task_events=True,
        task_send_sent_event=True,
        timezone="UTC",
    )
    return app
