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
from swagger_server.core.settings import Settings


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
