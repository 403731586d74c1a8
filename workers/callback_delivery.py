"""One step of a job's callback delivery: an attempt, recorded on the job, and when to try again."""

import logging
import random
from dataclasses import dataclass
from typing import Any

import httpx

from swagger_server.adapters.callbacks import (
    Allowlist,
    Attempt,
    CallbackRefused,
    check_url,
    deliver_once,
    result_text,
)
from swagger_server.adapters.job_store import JobStatus, JobStore, utc_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How callbacks are delivered (from the settings)."""

    allowlist: Allowlist
    secret: str
    timeouts: httpx.Timeout
    retry_base: float
    retry_cap: float
    retry_total: float

    def backoff(self, attempt_number: int, rng: random.Random | None = None) -> float:
        """Delay before attempt ``attempt_number + 1``: base * 2^(n-1), capped, ±20 % jitter."""
        rng = rng or random.Random()
        return min(self.retry_cap, self.retry_base * 2 ** (attempt_number - 1)) * rng.uniform(0.8, 1.2)


def message_id(job_id: str) -> str:
    """The ``webhook-id`` of a job's callback: the same on every retry."""
    return f"msg_{job_id}"


def deliver_step(job_id: str, store: JobStore, policy: DeliveryPolicy) -> float | None:
    """Make one delivery attempt for a SUCCESS job; the delay before the next one, or None when done.

    Idempotent: a delivered or failed callback is not attempted again.
    """
    record = store.get(job_id)
    callback = record.request.get("callback")
    if record.status is not JobStatus.SUCCESS or not callback or record.result is None:
        return None
    delivery: dict[str, Any] = record.callback or {
        "url": callback["url"],
        "webhook_id": message_id(job_id),
        "state": "pending",
        "attempts": [],
        "waited_seconds": 0.0,
    }
    if delivery["state"] != "pending":
        return None
    try:
        target = check_url(callback["url"], policy.allowlist)
    except CallbackRefused as exc:
        attempt = Attempt(at=utc_now(), outcome="failed", error=str(exc))
    else:
        payload = {**record.result, "callback_result": None}
        attempt = deliver_once(
            target,
            payload,
            callback.get("headers") or {},
            delivery["webhook_id"],
            policy.secret,
            policy.timeouts,
            utc_now(),
        )
    delivery["attempts"].append(attempt.as_dict())
    delay: float | None = None
    if attempt.outcome == "retry":
        wanted = attempt.retry_after if attempt.retry_after is not None else policy.backoff(len(delivery["attempts"]))
        delay = min(wanted, policy.retry_cap)
        if delivery["waited_seconds"] + delay > policy.retry_total:
            delivery["state"] = "failed"
            delivery["reason"] = (
                f"gave up after {len(delivery['attempts'])} attempts over {delivery['waited_seconds']:.0f} s"
            )
            delay = None
        else:
            delivery["waited_seconds"] += delay
    else:
        delivery["state"] = attempt.outcome
        if attempt.outcome == "failed":
            delivery["reason"] = attempt.error or f"the receiver answered {attempt.status}; not retried"
    store.record_callback(job_id, delivery, result_text(attempt))
    if delivery["state"] == "failed":
        store.metrics.callback_failed()
    logger.info(
        "callback.attempt job_id=%s outcome=%s status=%s error=%s next_in=%s",
        job_id,
        attempt.outcome,
        attempt.status,
        attempt.error,
        delay,
    )
    return delay
