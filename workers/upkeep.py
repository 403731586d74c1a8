"""What every worker does besides running tasks: heartbeats for the tasks it holds, and the stuck-job sweeper.

A Celery consumer bootstep (``app.steps["consumer"]``), started with the
worker's connection:

- **Heartbeat**, every ``WORKER_HEARTBEAT_SECONDS`` on the worker's own timer:
  for each task this worker holds (running, reserved, or waiting for its
  ETA) it renews the message's time in kombu's ``unacked_index`` and the
  job's heartbeat. A live worker's tasks are therefore never older than the
  visibility timeout; a dead worker's stop being renewed and are put back in
  the queue by any live worker's restore, so they run again within
  ``BROKER_VISIBILITY_TIMEOUT`` + 5 s instead of after the hard time limit.
- **Sweeper** (:mod:`workers.sweeper`), every ``SWEEP_INTERVAL_SECONDS`` in a
  thread of its own (a scan never holds the consumer), by one worker at a
  time (a Redis lock that expires with the interval).
"""

import threading
import time
from typing import Any

import redis
import structlog
from celery import bootsteps
from celery.worker import state
from celery.worker.consumer import Consumer
from kombu.asynchronous.timer import Entry
from kombu.transport.redis import Channel

from swagger_server.core.settings import Settings, get_settings
from workers.dispatch import deliver, drive_on
from workers.resources import job_store, workspace
from workers.sweeper import sweep

logger = structlog.get_logger(__name__)

SWEEP_LOCK = "pricing:sweeper:lock"


def held_requests() -> list[Any]:
    """Every task request this worker holds: reserved (running or waiting for a pool slot) or scheduled (ETA)."""
    for _ in range(3):
        try:
            return [*state.reserved_requests, *state.active_requests, *state.scheduled_requests]
        except RuntimeError:  # a set changed while read (the pool's thread): read again
            continue
    return []


def renew(broker: redis.Redis, requests: list[Any], at: float) -> None:
    """Renew the held messages in kombu's unacked index (only those still there) and their jobs' heartbeats."""
    tags = {request.message.delivery_tag for request in requests if request.message is not None}
    jobs = {str(request.args[0]) for request in requests if request.args}
    if tags:
        broker.zadd(Channel.unacked_index_key, dict.fromkeys(tags, at), xx=True)
    job_store().beat(jobs, at)


class WorkerUpkeep(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery ships no type hints
    """Heartbeats and the sweeper, for as long as the worker's consumer runs."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Consumer, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.settings: Settings = get_settings()
        self.celery_app = parent.app
        self.broker = redis.Redis.from_url(self.settings.broker_url, socket_timeout=10, socket_connect_timeout=5)
        self.timer_entry: Entry | None = None
        self.stopping = threading.Event()
        self.sweeper: threading.Thread | None = None

    def start(self, parent: Consumer) -> None:
        """Start the heartbeat timer and the sweeper thread."""
        self.timer_entry = parent.timer.call_repeatedly(self.settings.worker_heartbeat_seconds, self.beat)
        if self.sweeper is None:
            self.sweeper = threading.Thread(target=self.sweep_forever, name="pricing-sweeper", daemon=True)
            self.sweeper.start()

    def stop(self, parent: Consumer) -> None:
        """Stop the timer (the sweeper thread stops at shutdown)."""
        if self.timer_entry is not None:
            self.timer_entry.cancel()  # type: ignore[no-untyped-call]  # kombu ships no type hints
            self.timer_entry = None

    def shutdown(self, parent: Consumer) -> None:
        """Stop both for good."""
        self.stop(parent)
        self.stopping.set()

    def beat(self) -> None:
        """One heartbeat; a Redis error is logged and the next beat tries again."""
        try:
            renew(self.broker, held_requests(), time.time())
        except redis.RedisError as exc:
            logger.warning("upkeep.heartbeat_failed", error=exc)

    def sweep_forever(self) -> None:
        """Sweep every interval while the worker runs, if no other worker holds the sweep lock."""
        interval = self.settings.sweep_interval_seconds
        while not self.stopping.wait(interval):
            try:
                if not self.broker.set(SWEEP_LOCK, "1", nx=True, px=int(interval * 900)):
                    continue
                report = sweep(
                    job_store(),
                    self.broker,
                    [self.settings.celery_queue, self.settings.callback_queue],
                    time.time(),
                    self.settings.stale_job_seconds,
                    self.settings.job_redrive_limit,
                    lambda job_id: drive_on(
                        self.celery_app, job_store(), workspace(), job_id, self.settings.gammas_per_task
                    ),
                    lambda job_id: deliver(self.celery_app, job_id),
                )
                if report.stuck or report.callbacks_resent:
                    logger.warning(
                        "sweeper.swept",
                        active=report.active,
                        stuck=list(report.stuck),
                        callbacks_resent=list(report.callbacks_resent),
                    )
            except redis.RedisError as exc:
                logger.warning("sweeper.failed_to_sweep", error=exc)
