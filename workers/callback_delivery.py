"""One step of a job's callback delivery: an attempt, recorded on the job, and when to try again."""

import time
from dataclasses import replace

import structlog

from swagger_server.core.callbacks import CallbackRefused, DeliveryPolicy, check_url, deliver_once
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import CallbackDelivery, DeliveryAttempt, JobState, utc_now

logger = structlog.get_logger(__name__)


def message_id(job_id: str) -> str:
    """The ``webhook-id`` of a job's callback: the same on every retry."""
    return f"msg_{job_id}"


def next_state(
    delivery: CallbackDelivery, attempt: DeliveryAttempt, policy: DeliveryPolicy
) -> tuple[CallbackDelivery, float | None]:
    """The delivery after ``attempt``, and the delay before the next attempt (None: no more attempts).

    A retryable outcome waits ``Retry-After`` or the policy's backoff (at most
    ``retry_cap``); once the waits would add up past ``retry_total`` the
    delivery fails for good, saying after how many attempts.
    """
    delivery = delivery.with_attempt(attempt)
    if attempt.outcome != "retry":
        reason = None
        if attempt.outcome == "failed":
            reason = attempt.error or f"the receiver answered {attempt.status}; not retried"
        return replace(delivery, state=attempt.outcome, reason=reason), None
    wanted = attempt.retry_after if attempt.retry_after is not None else policy.backoff(len(delivery.attempts))
    delay = min(wanted, policy.retry_cap)
    if delivery.waited_seconds + delay > policy.retry_total:
        reason = f"gave up after {len(delivery.attempts)} attempts over {delivery.waited_seconds:.0f} s"
        return replace(delivery, state="failed", reason=reason), None
    return replace(delivery, waited_seconds=delivery.waited_seconds + delay), delay


def deliver_step(job_id: str, store: JobStore, policy: DeliveryPolicy) -> float | None:
    """Make one delivery attempt for a SUCCESS job; the delay before the next one, or None when done.

    Idempotent: a delivered or failed callback is not attempted again.
    """
    record = store.get(job_id)
    callback = record.request.callback
    if record.state is not JobState.SUCCEEDED or callback is None or record.result is None:
        store.expect_callback(job_id, None)
        return None
    delivery = record.callback or CallbackDelivery(url=callback.url, webhook_id=message_id(job_id))
    if delivery.state != "pending":
        store.expect_callback(job_id, None)
        return None
    try:
        target = check_url(callback.url, policy.allowlist)
    except CallbackRefused as exc:
        attempt = DeliveryAttempt(at=utc_now(), outcome="failed", error=str(exc))
    else:
        payload = record.result  # PricingData; callback_result is the API's record of this delivery, not sent
        attempt = deliver_once(
            target,
            payload,
            callback.headers or {},
            delivery.webhook_id,
            policy.secret,
            policy.timeouts,
            policy.deadline,
            utc_now(),
        )
    delivery, delay = next_state(delivery, attempt, policy)
    store.record_callback(job_id, delivery, attempt.result_text(), None if delay is None else time.time() + delay)
    if delivery.state == "failed":
        store.metrics.callback_failed()
    logger.info(
        "callback.attempt",
        job_id=job_id,
        outcome=attempt.outcome,
        status=attempt.status,
        error=attempt.error,
        next_in=delay,
    )
    return delay
