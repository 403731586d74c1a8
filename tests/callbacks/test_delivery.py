"""Callbacks through a real worker to a real receiver on 127.0.0.1 (allowlisted in sample mode)."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from swagger_server.core.job_store import JobStore
from tests.fakes.receiver import Receiver, Reply
from tests.jobs import AUTH, submit, wait_for
from tests.services import CALLBACK_SECRET, free_port

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (the README's snippet): recompute the Standard Webhooks signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig.split(",", 1)[1]) for sig in headers["webhook-signature"].split())


def callback_settled(client, job_id: str, timeout: float = 30) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Wait until the job's callback is delivered or failed; return the job."""
    return wait_for(
        client,
        job_id,
        states=("succeeded",),
        timeout=timeout,
        predicate=lambda b: b.get("callback", {}).get("state") in ("delivered", "failed"),
    )


def no_attempt_due(redis_url: str, job_id: str) -> bool:
    """True when the store has no further attempt due for the job's callback: what it has received is final."""
    return job_id not in JobStore.from_url(redis_url, retention_days=1).overdue_callbacks(float("inf"))


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def test_delivered_once_signed_with_the_clients_headers(client, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        headers = {"Authorization": "Bearer abc", "X-Trace": "t-1", "webhook-id": "forged", "Host": "evil.example"}
        job_id = submit(client, callback={"url": receiver.url(), "headers": headers})
        job = callback_settled(client, job_id)
        assert no_attempt_due(redis_url, job_id) and len(receiver.received) == 1
        got = receiver.received[0]
    sent = lower(got.headers)
    assert job["callback"]["state"] == "delivered" and len(job["callback"]["attempts"]) == 1
    assert sent["authorization"] == "Bearer abc" and sent["x-trace"] == "t-1"
    assert sent["webhook-id"] == f"msg_{job_id}" and sent["host"] == f"127.0.0.1:{receiver.port}"
    assert sent["content-type"] == "application/json"
    assert verify_signature(CALLBACK_SECRET, sent, got.body)  # the README's snippet
    assert Webhook(CALLBACK_SECRET).verify(got.body, sent) == json.loads(got.body)  # the official verifier
    assert abs(int(sent["webhook-timestamp"]) - time.time()) < 60
    payload = json.loads(got.body)
    assert payload == {k: v for k, v in job["result"].items() if k != "callback_result"}
    assert job["result"]["callback_result"].startswith("status: 200\n\nthanks")


def test_originals_media_type_is_kept(client) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        headers = {"Content-Type": "application/vnd.api+json"}
        callback_settled(client, submit(client, callback={"url": receiver.url(), "headers": headers}))
        assert lower(receiver.received[0].headers)["content-type"] == "application/vnd.api+json"


def test_receiver_down_then_up(client) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    job_id = submit(client, callback={"url": f"http://127.0.0.1:{port}/late"})
    wait_for(
        client, job_id, states=("succeeded",), predicate=lambda b: len(b.get("callback", {}).get("attempts", [])) >= 2
    )
    with Receiver(port=port) as receiver:
        job = callback_settled(client, job_id)
        assert len(receiver.received) == 1
    attempts = job["callback"]["attempts"]
    assert job["callback"]["state"] == "delivered"
    assert all(a["outcome"] == "retry" and "connection failed" in a["error"] for a in attempts[:-1])
    assert attempts[-1] == {**attempts[-1], "outcome": "delivered", "status": 200}


def test_500_then_200(client, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """Retried because of the 500 (or, on a loaded machine, a read timeout), delivered at last, one webhook-id."""
    with Receiver() as receiver:
        receiver.replies = [Reply(status=500, body="busy")]
        job = callback_settled(client, submit(client, callback={"url": receiver.url()}))
        assert no_attempt_due(redis_url, job["job_id"])
        assert [r.headers["webhook-id"] for r in receiver.received] == [f"msg_{job['job_id']}"] * len(receiver.received)
    attempts = job["callback"]["attempts"]
    assert len(attempts) == len(receiver.received) >= 2 and job["callback"]["state"] == "delivered"
    assert attempts[0]["outcome"] == "retry" and (attempts[0].get("status") == 500 or "timeout" in attempts[0]["error"])
    assert all(a["outcome"] == "retry" for a in attempts[:-1]) and attempts[-1]["status"] == 200


def test_429_retry_after_is_honoured(client) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        receiver.replies = [Reply(status=429, headers={"Retry-After": "1"})]
        job = callback_settled(client, submit(client, callback={"url": receiver.url()}))
        gap = receiver.received[1].at - receiver.received[0].at
    assert job["callback"]["attempts"][0]["retry_after"] == 1.0
    assert gap >= 0.9


def test_410_is_not_retried(client, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        receiver.replies = [Reply(status=410, body="gone")]
        job = callback_settled(client, submit(client, callback={"url": receiver.url()}))
        assert no_attempt_due(redis_url, job["job_id"]) and len(receiver.received) == 1
    assert job["status"] == "SUCCESS" and job["callback"]["state"] == "failed"
    assert job["result"]["callback_result"] == "status: 410\n\ngone"
    assert client.get(f"/pricing/{job['job_id']}", headers=AUTH).json()["result"]["raw_data"]["GAMMA"] == [0.0, 1.0]


def test_redirect_is_not_followed(client, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver, Receiver() as elsewhere:
        receiver.replies = [Reply(status=307, headers={"Location": elsewhere.url()})]
        job = callback_settled(client, submit(client, callback={"url": receiver.url()}))
        assert no_attempt_due(redis_url, job["job_id"])
        assert len(receiver.received) == 1 and elsewhere.connections == 0
    assert job["callback"]["state"] == "failed"
    assert job["callback"]["attempts"][0]["error"] == "redirect not followed"


def test_slow_receiver_times_out_and_is_retried(client) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        receiver.replies = [Reply(delay=2.0)]
        job = callback_settled(client, submit(client, callback={"url": receiver.url()}))
    first, last = job["callback"]["attempts"][0], job["callback"]["attempts"][-1]
    assert first["outcome"] == "retry" and first["error"].startswith("timeout")
    assert last["outcome"] == "delivered"


def test_jobs_without_callback_have_no_delivery(client) -> None:  # type: ignore[no-untyped-def]
    job = wait_for(client, submit(client, callback=None))
    assert "callback" not in job and "callback_result" not in job["result"]


def test_a_receiver_that_drips_its_answer_is_cut_off_and_the_attempt_recorded(client) -> None:  # type: ignore[no-untyped-def]
    """Each read arrives within the read timeout (1 s), but the whole answer would take 5 s: the 3 s deadline ends it."""
    with Receiver() as receiver:
        receiver.replies = [Reply(status=200, body="x" * 20, drip=0.25)]
        job_id = submit(client, callback={"url": receiver.url()})
        job = wait_for(
            client,
            job_id,
            states=("succeeded",),
            timeout=60,
            predicate=lambda b: len(b.get("callback", {}).get("attempts", [])) >= 2,
        )
    first = job["callback"]["attempts"][0]
    assert first["outcome"] == "retry" and first["error"] == "no complete answer within 3 s"
    assert job["callback"]["state"] in ("pending", "delivered")  # retried after the cut-off


def test_a_slow_receiver_holds_no_solve(client) -> None:  # type: ignore[no-untyped-def]
    """Deliveries have their own queue and workers: a job submitted while a receiver hangs finishes at once."""
    with Receiver() as receiver:
        receiver.replies = [Reply(status=200, delay=8)]
        slow = submit(client, callback={"url": receiver.url()})
        wait_for(client, slow, states=("succeeded",))  # its delivery now waits on the receiver
        started = time.monotonic()
        quick = wait_for(client, submit(client), timeout=30)
        assert quick["state"] == "succeeded" and time.monotonic() - started < 5
