"""One step of a job's callback delivery, in-process, on a real Redis and a real receiver on 127.0.0.1."""

import json
import time
import uuid
from dataclasses import replace

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from swagger_server.core.callbacks import Allowlist, DeliveryPolicy
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobRecord, JobRequest, JobState, utc_now
from swagger_server.core.metrics import METRICS_KEY
from tests.fakes.receiver import Receiver, Reply
from tests.jobs import README_JOB
from tests.logs import events
from tests.off_loop import in_a_thread
from tests.services import CALLBACK_SECRET
from workers.callback_delivery import deliver_step

pytestmark = pytest.mark.integration
RESULT = {"plots": {"UW_BAR": []}, "raw_data": {"GAMMA": [0.0]}, "warnings": []}
POLICY = DeliveryPolicy(Allowlist.parse(["127.0.0.0/8"]), CALLBACK_SECRET, httpx.Timeout(2.0), 5.0, 1.0, 4.0, 60.0)


@pytest.fixture
def store(redis_url: str) -> JobStore:
    return JobStore.from_url(redis_url, retention_days=1)


def job_with_callback(store: JobStore, url: str | None, finished: bool = True) -> str:
    callback = {"url": url, "headers": {"Authorization": "Bearer abc"}} if url else None
    request = JobRequest.from_json({**README_JOB, "callback": callback})
    job_id = str(uuid.uuid4())
    store.create(JobRecord(job_id=job_id, state=JobState.QUEUED, request=request, submitted_at=utc_now()))
    if finished:
        store.mark_started(job_id)
        store.mark_success(job_id, RESULT)
    store.expect_callback(job_id, time.time())
    return job_id


def failed_callbacks(store: JobStore) -> int:
    return int(store.redis.hget(METRICS_KEY, "callback_failed") or 0)


def test_a_delivered_callback_is_recorded_and_not_sent_again(
    store: JobStore, service_logs: pytest.LogCaptureFixture
) -> None:
    with Receiver() as receiver:
        job_id = job_with_callback(store, receiver.url())
        with service_logs.at_level("INFO", logger="workers.callback_delivery"):
            assert in_a_thread(deliver_step, job_id, store, POLICY) is None
        assert in_a_thread(deliver_step, job_id, store, POLICY) is None  # delivered: no second attempt
        [got] = receiver.received
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert json.loads(got.body) == RESULT and headers["authorization"] == "Bearer abc"
    assert headers["webhook-id"] == f"msg_{job_id}"
    assert Webhook(CALLBACK_SECRET).verify(got.body, headers) == RESULT
    record = store.get(job_id)
    assert record.callback is not None and record.callback.state == "delivered"
    assert record.callback.url == receiver.url() and record.callback.webhook_id == f"msg_{job_id}"
    assert [a.status for a in record.callback.attempts] == [200]
    assert record.callback_result == "status: 200\n\nthanks"
    assert job_id not in store.overdue_callbacks(float("inf"))
    [logged] = events(service_logs, "callback.attempt")
    fields = {"job_id": job_id, "outcome": "delivered", "status": 200, "error": None, "next_in": None}
    assert {name: logged[name] for name in fields} == fields


def test_a_retryable_answer_schedules_the_next_attempt(store: JobStore) -> None:
    with Receiver() as receiver:
        receiver.replies = [Reply(status=503, headers={"Retry-After": "3"})]
        job_id = job_with_callback(store, receiver.url())
        before = time.time()
        assert in_a_thread(deliver_step, job_id, store, POLICY) == 3.0
    record = store.get(job_id)
    assert record.callback is not None and record.callback.state == "pending"
    assert record.callback.waited_seconds == 3.0 and record.callback_result == "status: 503\n\nthanks"
    assert job_id not in store.overdue_callbacks(before + 2.5)  # due in 3 s, not now
    assert job_id in store.overdue_callbacks(time.time() + 3.5)


def test_the_policy_bounds_each_attempt_and_a_timeout_is_logged_with_the_next_delay(
    store: JobStore, service_logs: pytest.LogCaptureFixture
) -> None:
    """The policy's read timeout cuts a silent receiver, its deadline a dripping one; both are retries."""
    backoff = replace(POLICY, retry_base=10.0, retry_cap=10.0)
    read_limit = replace(backoff, timeouts=httpx.Timeout(0.3), deadline=30.0)
    deadline = replace(backoff, timeouts=httpx.Timeout(1.0), deadline=1.5)
    with Receiver() as receiver:
        # Silent for 2 s; then a body of 30 bytes 0.25 s apart (7.5 s), each byte well within the 1 s read timeout.
        receiver.replies = [Reply(delay=2.0), Reply(drip=0.25, body="x" * 30)]
        silent = job_with_callback(store, receiver.url())
        dripping = job_with_callback(store, receiver.url())
        with service_logs.at_level("INFO", logger="workers.callback_delivery"):
            silent_delay = in_a_thread(deliver_step, silent, store, read_limit)
            assert in_a_thread(deliver_step, dripping, store, deadline) is not None
    errors = {job_id: store.get(job_id).callback.attempts[-1].error for job_id in (silent, dripping)}  # type: ignore[union-attr]
    assert errors == {silent: "timeout (ReadTimeout)", dripping: "no complete answer within 1.5 s"}
    logged = events(service_logs, "callback.attempt")
    first = {name: logged[0][name] for name in ("job_id", "outcome", "error", "next_in")}
    assert first == {"job_id": silent, "outcome": "retry", "error": "timeout (ReadTimeout)", "next_in": silent_delay}
    assert silent_delay is not None and 8.0 <= silent_delay <= 12.0  # the base, 10 s, with its 20 % jitter


def test_a_final_refusal_fails_the_callback_and_counts_it(store: JobStore) -> None:
    with Receiver() as receiver:
        receiver.replies = [Reply(status=410, body="gone")]
        job_id = job_with_callback(store, receiver.url())
        counted = failed_callbacks(store)
        assert in_a_thread(deliver_step, job_id, store, POLICY) is None
    record = store.get(job_id)
    assert record.callback is not None and record.callback.state == "failed"
    assert record.callback.reason == "the receiver answered 410; not retried"
    assert failed_callbacks(store) == counted + 1
    assert job_id not in store.overdue_callbacks(float("inf"))


def test_nothing_is_sent_for_a_job_that_has_not_succeeded_or_has_no_callback(store: JobStore) -> None:
    with Receiver() as receiver:
        running = job_with_callback(store, receiver.url(), finished=False)
        without = job_with_callback(store, None)
        counted = failed_callbacks(store)
        assert in_a_thread(deliver_step, running, store, POLICY) is None
        assert in_a_thread(deliver_step, without, store, POLICY) is None
        assert receiver.connections == 0
    for job_id in (running, without):
        assert store.get(job_id).callback is None
        assert job_id not in store.overdue_callbacks(float("inf"))  # nothing more is expected of it
    assert failed_callbacks(store) == counted
