"""Callback retry schedule, Retry-After parsing, header merging and signing (no network)."""

import base64
import hashlib
import hmac
import random
import time
from email.utils import formatdate

import httpx
import pytest

from swagger_server.core.callbacks import Allowlist, DeliveryPolicy, build_headers, parse_retry_after, sign
from swagger_server.core.jobs import CallbackDelivery, DeliveryAttempt, utc_now
from swagger_server.core.settings import Settings
from workers.callback_delivery import next_state


def test_default_schedule_is_about_an_hour() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    policy = DeliveryPolicy(
        Allowlist.parse([]),
        "",
        httpx.Timeout(1),
        settings.callback_attempt_deadline,
        settings.callback_retry_base,
        settings.callback_retry_cap,
        settings.callback_retry_total,
    )
    rng = random.Random(1)
    waited, attempts = 0.0, 1
    while waited + (delay := policy.backoff(attempts, rng)) <= settings.callback_retry_total:
        waited += delay
        attempts += 1
    assert 8 <= attempts <= 12 and 2400 < waited <= 3600
    assert all(policy.backoff(n, rng) <= settings.callback_retry_cap * 1.2 for n in range(1, 30))


def test_allowlist_defaults_to_loopback_in_sample_mode_only() -> None:
    assert Settings(_env_file=None, sample_data=True).callback_allowlist == ["localhost", "127.0.0.0/8", "::1/128"]  # type: ignore[call-arg]
    assert Settings(_env_file=None, sample_data=False).callback_allowlist == []  # type: ignore[call-arg]
    explicit = Settings(_env_file=None, sample_data=True, callback_allowed_hosts="hooks.internal, 10.2.0.0/16")  # type: ignore[call-arg]
    assert explicit.callback_allowlist == ["hooks.internal", "10.2.0.0/16"]


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 25 <= (parse_retry_after(formatdate(usegmt=True, timeval=time.time() + 30)) or 0) <= 31


def test_signature_follows_standard_webhooks() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    signature = sign(secret, "msg_1", 1700000000, b'{"a":1}')
    expected = hmac.new(b"k" * 24, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(expected).decode()


def test_client_headers_cannot_override_ours() -> None:
    secret = "whsec_" + base64.b64encode(b"s" * 24).decode()
    headers = build_headers(
        {"webhook-signature": "v1,forged", "Content-Length": "3", "host": "x", "X-Ok": "1"}, "msg_2", 1, b"{}", secret
    )
    assert headers["X-Ok"] == "1" and headers["webhook-id"] == "msg_2"
    assert headers["webhook-signature"] == sign(secret, "msg_2", 1, b"{}")
    assert not any(k.lower() in ("content-length", "host") for k in headers)
    assert "webhook-signature" not in build_headers({}, "m", 1, b"{}", "")


@pytest.mark.parametrize("secret", ["my-shared-secret", "whsec_not*base64", "whsec_"])
def test_a_secret_official_verifiers_cannot_use_is_refused_at_start(secret: str) -> None:
    with pytest.raises(ValueError, match="CALLBACK_SECRET must be a Standard Webhooks secret: whsec_"):
        Settings(_env_file=None, callback_secret=secret)  # type: ignore[call-arg]


def retrying_policy(cap: float = 4.0, total: float = 10.0) -> DeliveryPolicy:
    return DeliveryPolicy(Allowlist.parse([]), "", httpx.Timeout(1), 3.0, 1.0, cap, total)


def test_delivery_gives_up_once_the_waits_would_pass_the_total() -> None:
    """Every 500 is retried after the backoff until one more wait would take the delivery past CALLBACK_RETRY_TOTAL."""
    policy = retrying_policy(cap=4.0, total=10.0)
    delivery = CallbackDelivery(url="https://hooks.example/cb", webhook_id="msg_1")
    delays: list[float] = []
    while delivery.state == "pending":
        attempt = DeliveryAttempt(at=utc_now(), outcome="retry", status=500)
        delivery, delay = next_state(delivery, attempt, policy)
        if delay is not None:
            delays.append(delay)
    assert delivery.state == "failed" and len(delivery.attempts) == len(delays) + 1 >= 3
    assert sum(delays) == delivery.waited_seconds <= 10.0
    assert all(0 < d <= 4.0 for d in delays)
    assert delivery.reason == f"gave up after {len(delivery.attempts)} attempts over {sum(delays):.0f} s"


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = retrying_policy(cap=4.0, total=100.0)
    fresh = CallbackDelivery(url="https://hooks.example/cb", webhook_id="msg_1")
    for asked, waited in ((1.5, 1.5), (3600.0, 4.0), (0.0, 0.0)):
        attempt = DeliveryAttempt(at=utc_now(), outcome="retry", status=429, retry_after=asked)
        delivery, delay = next_state(fresh, attempt, policy)
        assert delay == waited and delivery.state == "pending" and delivery.waited_seconds == waited


def test_a_final_answer_ends_the_delivery_at_once() -> None:
    policy = retrying_policy()
    fresh = CallbackDelivery(url="https://hooks.example/cb", webhook_id="msg_1")
    delivered, delay = next_state(fresh, DeliveryAttempt(at=utc_now(), outcome="delivered", status=204), policy)
    assert (delivered.state, delivered.reason, delay) == ("delivered", None, None)
    gone, delay = next_state(fresh, DeliveryAttempt(at=utc_now(), outcome="failed", status=410), policy)
    assert (gone.state, gone.reason, delay) == ("failed", "the receiver answered 410; not retried", None)


def test_a_wait_that_ends_exactly_at_the_total_is_still_taken() -> None:
    policy = retrying_policy(cap=4.0, total=4.0)
    delivery = CallbackDelivery(url="https://hooks.example/cb", webhook_id="msg_1")
    waits = []
    for _ in range(3):
        delivery, delay = next_state(delivery, DeliveryAttempt(at=utc_now(), outcome="retry", retry_after=2.0), policy)
        waits.append(delay)
    assert waits == [2.0, 2.0, None] and delivery.reason == "gave up after 3 attempts over 4 s"
