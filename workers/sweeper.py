"""The stuck-job sweeper: find queued or running jobs whose tasks are gone, and drive them on or fail them.

How it decides (every ``SWEEP_INTERVAL_SECONDS``, in one worker at a time):

1. Every queued or running job has a last sign of life: the latest heartbeat
   of a worker holding one of its tasks (:mod:`workers.upkeep`, every
   ``WORKER_HEARTBEAT_SECONDS``), else its submit time.
2. A job silent for ``STALE_JOB_SECONDS`` is stuck unless one of its tasks
   still waits in the queue or is held by a worker (read from the broker: a
   long queue is not a fault).
3. A stuck job is driven on: what it misses is sent again (its first task, its
   unsolved gammas, or its assembly; :func:`workers.dispatch.drive_on`). After
   ``JOB_REDRIVE_LIMIT`` times it fails with a message saying so.

4. A callback whose next attempt was due ``STALE_JOB_SECONDS`` ago, with no
   delivery task in a queue or held by a worker, gets its attempt sent again
   (the delivery policy still decides when it ends).

A task held by a dead worker needs no sweeper: it stops being renewed and the
broker's visibility timeout gives it back to the queue. The sweeper is for
tasks that ended without moving their job on (a Redis outage outlasting the
retries, a message lost with an unsaved Redis).
"""

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
import structlog
from kombu.transport.redis import Channel

from swagger_server.core.job_store import JobStore

logger = structlog.get_logger(__name__)

#: Messages read from Redis per round trip while scanning a queue.
SCAN_PAGE = 1000


@dataclass(frozen=True)
class SweepReport:
    """What one sweep saw and did."""

    active: int
    stuck: tuple[str, ...] = ()
    driven_on: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    callbacks_resent: tuple[str, ...] = ()


def job_id_of(raw: bytes | str) -> str | None:
    """The job id (first argument) of one Celery message as kombu's Redis transport stores it, or None.

    A message is JSON with a base64 ``body`` holding ``[args, kwargs, embed]``
    (Celery's message protocol 2).
    """
    try:
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return str(args[0]) if args else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def jobs_in_broker(client: redis.Redis, queues: Iterable[str]) -> set[str]:
    """Ids of the jobs with a task waiting in one of ``queues`` or held (unacknowledged) by a worker."""
    found: set[str] = set()
    for queue in queues:
        length = int(client.llen(queue))
        for start in range(0, length, SCAN_PAGE):
            for raw in client.lrange(queue, start, start + SCAN_PAGE - 1):
                found.add(job_id_of(raw) or "")
    for raw in client.hvals(Channel.unacked_key):
        held = json.loads(raw)  # [message, exchange, routing key]
        found.add(job_id_of(json.dumps(held[0])) or "")
    found.discard("")
    return found


def sweep(
    store: JobStore,
    broker: redis.Redis,
    queues: Iterable[str],
    now: float,
    stale_seconds: float,
    redrive_limit: int,
    drive_on: Callable[[str], str],
    deliver: Callable[[str], None],
) -> SweepReport:
    """One sweep: drive on (or, past ``redrive_limit``, fail) every stuck job, and re-send lost callback attempts.

    See the module's docstring for how it decides.
    """
    last_seen = store.active_jobs()
    silent = [job_id for job_id, at in last_seen.items() if now - at >= stale_seconds]
    overdue = store.overdue_callbacks(now - stale_seconds)
    if not silent and not overdue:
        return SweepReport(active=len(last_seen))
    present = jobs_in_broker(broker, queues)
    callbacks_resent = [job_id for job_id in overdue if job_id not in present]
    for job_id in callbacks_resent:
        store.expect_callback(job_id, now)
        deliver(job_id)
        logger.warning("sweeper.callback_resent", job_id=job_id)
    stuck = [job_id for job_id in silent if job_id not in present]
    driven_on: list[str] = []
    failed: list[str] = []
    for job_id in stuck:
        times = store.count_redrive(job_id)
        silent_for = round(now - last_seen[job_id])
        if times > redrive_limit:
            message = (
                f"the job stalled {times} times (no worker held any of its tasks for {silent_for} s; "
                "workers stopped or the broker lost its tasks); submit it again"
            )
            if store.mark_failure(job_id, message):
                failed.append(job_id)
            logger.warning("sweeper.failed", job_id=job_id, stalled_times=times, silent_seconds=silent_for)
            continue
        store.beat([job_id], now)
        step = drive_on(job_id)
        driven_on.append(job_id)
        logger.warning("sweeper.driven_on", job_id=job_id, resent=step, time=times, silent_seconds=silent_for)
    return SweepReport(len(last_seen), tuple(stuck), tuple(driven_on), tuple(failed), tuple(callbacks_resent))
