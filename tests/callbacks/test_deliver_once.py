"""One delivery attempt, in-process, against a real receiver on 127.0.0.1: how each answer is classified."""

import json
import random

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from swagger_server.core.callbacks import (
    RESPONSE_EXCERPT,
    Allowlist,
    DeliveryPolicy,
    Target,
    check_url,
    deliver_once,
    parse_retry_after,
)
from swagger_server.core.jobs import DeliveryAttempt
from swagger_server.core.settings import Settings
from tests.fakes.receiver import Receiver, Reply
from tests.off_loop import in_a_thread
from tests.services import CALLBACK_SECRET, free_port

pytestmark = pytest.mark.integration
LOOPBACK = Allowlist.parse(["127.0.0.0/8"])
NOW = "2026-01-02T03:04:05+00:00"
PAYLOAD = {"plots": {"a": [1, 2]}, "raw_data": {"GAMMA": [0.0, 1.5]}, "warnings": ["é"]}


def attempt(url: str, timeout: float = 2.0, deadline: float = 5.0, secret: str = "") -> DeliveryAttempt:
    """``deliver_once`` as the delivery worker's thread pool calls it (off any event loop)."""
    target = check_url(url, LOOPBACK)
    return in_a_thread(
        deliver_once, target, PAYLOAD, {"X-Trace": "t"}, "msg_1", secret, httpx.Timeout(timeout), deadline, NOW
    )


def test_a_2xx_is_delivered_with_the_compact_signed_body() -> None:
    with Receiver() as receiver:
        receiver.replies = [Reply(status=202, body="queued")]
        result = attempt(receiver.url(), secret=CALLBACK_SECRET)
        [got] = receiver.received
    assert result == DeliveryAttempt(at=NOW, outcome="delivered", status=202, body="queued")
    assert got.body == json.dumps(PAYLOAD, separators=(",", ":")).encode()
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert Webhook(CALLBACK_SECRET).verify(got.body, headers) == PAYLOAD  # id, timestamp and signature agree
    assert headers["webhook-id"] == "msg_1" and headers["x-trace"] == "t"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"


@pytest.mark.parametrize(
    ("client_headers", "sent"),
    [
        ({}, "application/json"),
        ({"content-type": "application/vnd.api+json; charset=utf-8"}, "application/vnd.api+json"),
        ({"Content-Type": "text/plain"}, "application/json"),  # the body is JSON whatever a client asks
    ],
    ids=["none asked", "JSON:API asked (any case)", "another type asked"],
)
def test_the_body_is_sent_as_json_or_json_api_once(client_headers: dict[str, str], sent: str) -> None:
    with Receiver() as receiver:
        target = check_url(receiver.url(), LOOPBACK)
        in_a_thread(deliver_once, target, PAYLOAD, client_headers, "msg_1", "", httpx.Timeout(2.0), 5.0, NOW)
        [got] = receiver.received
    content_types = [v for k, v in got.headers.items() if k.lower() == "content-type"]
    assert content_types == [sent]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (299, "delivered"),
        (300, "failed"),
        (399, "failed"),
        (400, "failed"),
        (428, "failed"),
        (429, "retry"),
        (430, "failed"),
        (499, "failed"),
        (500, "retry"),
        (501, "retry"),
        (599, "retry"),
    ],
)
def test_each_status_is_classified(status: int, outcome: str) -> None:
    with Receiver() as receiver:
        receiver.replies = [Reply(status=status, body="why")]
        result = attempt(receiver.url())
    assert (result.outcome, result.status, result.body, result.at) == (outcome, status, "why", NOW)
    assert result.error == ("redirect not followed" if 300 <= status < 400 else None)


def test_retry_after_is_read_from_a_retryable_answer() -> None:
    with Receiver() as receiver:
        receiver.replies = [Reply(status=503, headers={"Retry-After": "7"}), Reply(status=429)]
        assert attempt(receiver.url()).retry_after == 7.0
        assert attempt(receiver.url()).retry_after is None


def test_a_redirect_is_not_followed() -> None:
    with Receiver() as receiver, Receiver() as elsewhere:
        receiver.replies = [Reply(status=307, headers={"Location": elsewhere.url()})]
        result = attempt(receiver.url())
        assert elsewhere.connections == 0
    assert (result.outcome, result.error) == ("failed", "redirect not followed")


def test_the_answer_kept_is_an_excerpt() -> None:
    with Receiver() as receiver:
        receiver.replies = [Reply(status=410, body="x" * (RESPONSE_EXCERPT + 500))]
        result = attempt(receiver.url())
    assert result.body == "x" * RESPONSE_EXCERPT


def test_connection_refused_timeout_and_deadline_are_retried_naming_why() -> None:
    refused = attempt(f"http://127.0.0.1:{free_port()}/cb")
    assert (refused.outcome, refused.error, refused.at) == ("retry", "connection failed (ConnectError)", NOW)
    with Receiver() as receiver:
        receiver.replies = [Reply(delay=1.5), Reply(status=200, body="x" * 20, drip=0.1)]
        slow = attempt(receiver.url(), timeout=0.5)
        dripping = attempt(receiver.url(), timeout=2.0, deadline=1.0)  # every byte on time, the whole too late
    assert (slow.outcome, slow.error, slow.at) == ("retry", "timeout (ReadTimeout)", NOW)
    assert (dripping.outcome, dripping.error, dripping.at) == ("retry", "no complete answer within 1 s", NOW)


@pytest.mark.parametrize(
    ("url", "port", "host"),
    [
        ("http://hooks.example/cb", 80, "hooks.example"),
        ("https://hooks.example/cb", 443, "hooks.example"),
        ("http://hooks.example:8080/cb", 8080, "hooks.example:8080"),
        ("https://hooks.example:444/cb", 444, "hooks.example:444"),
    ],
)
def test_the_host_header_names_a_port_only_when_it_is_not_the_default(url: str, port: int, host: str) -> None:
    import ipaddress

    target = Target(url=url, host="hooks.example", port=port, address=ipaddress.ip_address("93.184.215.14"))
    assert target.host_header == host
    assert target.pinned_url == url.replace("hooks.example", "93.184.215.14").replace(
        "93.184.215.14/", f"93.184.215.14:{port}/"
    )


def test_retry_after_forms_are_never_negative() -> None:
    assert parse_retry_after("0") == 0.0 and parse_retry_after("-5") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
    assert parse_retry_after("2.5") == 2.5


class Midpoint(random.Random):
    """Jitter at its middle (1.0), so the schedule itself shows."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def test_the_backoff_doubles_from_the_base_up_to_the_cap_with_20_percent_jitter() -> None:
    policy = DeliveryPolicy(LOOPBACK, "", httpx.Timeout(1), 3.0, retry_base=1.5, retry_cap=10.0, retry_total=60.0)
    assert [policy.backoff(n, Midpoint()) for n in range(1, 6)] == [1.5, 3.0, 6.0, 10.0, 10.0]
    delays = [policy.backoff(2, random.Random(seed)) for seed in range(200)]
    assert 3.0 * 0.8 <= min(delays) < 3.0 * 0.85 and 3.0 * 1.15 < max(delays) <= 3.0 * 1.2


def test_the_policy_is_the_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        callback_allowed_hosts="hooks.internal, 10.2.0.0/16",
        callback_secret=CALLBACK_SECRET,
        callback_connect_timeout=1.5,
        callback_read_timeout=7.0,
        callback_attempt_deadline=9.0,
        callback_retry_base=2.0,
        callback_retry_cap=20.0,
        callback_retry_total=99.0,
    )
    policy = DeliveryPolicy.from_settings(settings)
    assert policy.allowlist == Allowlist.parse(["hooks.internal", "10.2.0.0/16"])
    assert policy.secret == CALLBACK_SECRET
    assert policy.timeouts == httpx.Timeout(7.0, connect=1.5)
    assert (policy.deadline, policy.retry_base, policy.retry_cap, policy.retry_total) == (9.0, 2.0, 20.0, 99.0)
