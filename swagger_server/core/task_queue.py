"""The Celery configuration both sides share: task names, broker, serializer, reliability settings.

The API builds a Celery *client* from it and sends tasks by name
(:mod:`swagger_server.job_queue`); the workers build their app from it and
register the tasks (:mod:`workers.celery_app`). Neither imports the other.

Reliability settings: late acknowledgement with prefetch 1 (a task lost with
its worker is redelivered), started state tracked, soft/hard time limits, JSON
only. A task a worker holds stays in Redis' ``unacked`` index until it is
acknowledged; the worker renews it every heartbeat
(:mod:`workers.heartbeat`), and one not renewed for the (short) visibility
timeout, because its worker died, is put back in the queue by any live
worker's periodic restore (every ``RESTORE_INTERVAL_SECONDS``).
"""

from celery import Celery

from swagger_server.core.settings import Settings

RUN_JOB_TASK = "pricing.run_job"
SOLVE_CHUNK_TASK = "pricing.solve_chunk"
ASSEMBLE_JOB_TASK = "pricing.assemble_job"
DELIVER_CALLBACK_TASK = "pricing.deliver_callback"

#: How often each worker puts abandoned messages (older than the visibility timeout) back in their queue.
RESTORE_INTERVAL_SECONDS = 5


def celery_app(settings: Settings) -> Celery:
    """A Celery app configured for ``settings`` (no tasks registered)."""
    # No result backend: job state and results live in the job store, and the
    # solve task that stores a job's last gamma sends its assembly (no chord to count).
    app = Celery("pricing", broker=settings.broker_url)
    transport = {
        "visibility_timeout": settings.broker_visibility_timeout,
        # kombu's restore runs every interval x throttle seconds; with a short timeout, scan on every run.
        "unacked_restore_interval": RESTORE_INTERVAL_SECONDS,
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        task_default_queue=settings.celery_queue,
        # Deliveries wait on other people's servers: their own queue and workers, so none holds a solve.
        task_routes={DELIVER_CALLBACK_TASK: {"queue": settings.callback_queue}},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # SIGTERM (remapped to Celery's soft shutdown by REMAP_SIGTERM, see embedded.WORKER_SIGNALS): let running
        # tasks finish for this long, then stop them; with late acks their messages go back to the queue.
        worker_soft_shutdown_timeout=settings.worker_soft_shutdown_timeout,
        worker_enable_soft_shutdown_on_idle=False,  # an idle worker stops at once
        worker_send_task_events=True,
        task_send_sent_event=True,
        timezone="UTC",
    )
    return app
