"""Real services for integration tests: Redis, Celery workers and API servers as processes, and their settings.

The processes are started with the same commands as ``make run``
(:mod:`swagger_server.embedded`).
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from swagger_server.core.settings import Settings
from swagger_server.embedded import (
    WORKER_SIGNALS,
    answers_health,
    api_command,
    callback_worker_command,
    free_port,
    running,
    worker_command,
    worker_ready,
)
from tests.documents import REPO_ROOT

SYSTEM_REDIS = "redis://127.0.0.1:6379/15"

#: The bearer that reads /metrics in the tests (the in-process client has no IP address).
METRICS_TOKEN = "test-metrics-token"

#: Callback delivery of the test worker: signed, short timeouts, fast retries for at most 20 s.
CALLBACK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CALLBACK_TEST_SETTINGS = {
    "CALLBACK_SECRET": CALLBACK_SECRET,
    "CALLBACK_CONNECT_TIMEOUT": "0.5",
    "CALLBACK_READ_TIMEOUT": "1",
    "CALLBACK_RETRY_BASE": "0.3",
    "CALLBACK_RETRY_CAP": "2",
    "CALLBACK_RETRY_TOTAL": "20",
    "CALLBACK_ATTEMPT_DEADLINE": "3",
}


def make_settings(redis_url: str, sample_dir: Path, queue: str, **overrides: object) -> Settings:
    """Settings of an in-process app for the tests."""
    values: dict[str, Any] = dict(
        redis_url=redis_url,
        sample_data=True,
        sample_data_dir=sample_dir,
        celery_queue=queue,
        validate_responses=True,
        metrics_token=METRICS_TOKEN,
        callback_queue=f"{queue}-callbacks",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings' init-only option


def redis_answers(url: str) -> bool:
    """True if a Redis answers at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def service_env(redis_url: str, sample_dir: Path, queue: str, **extra: str) -> dict[str, str]:
    """Environment for a worker or API process of the tests."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        SAMPLE_DATA="1",
        SAMPLE_DATA_DIR=str(sample_dir),
        CELERY_QUEUE=queue,
        CALLBACK_QUEUE=f"{queue}-callbacks",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(WORKER_SIGNALS)
    env.update(extra)
    return env


@contextmanager
def celery_worker(env: dict[str, str], log_path: Path, name: str = "worker") -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery -A workers.tasks worker`` process, ready when yielded."""
    with running(worker_command(name), env, log_path, worker_ready(log_path), "worker") as process:
        yield process


@contextmanager
def callback_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The callback deliveries' own worker (thread pool) on ``env``'s CALLBACK_QUEUE, ready when yielded."""
    command = callback_worker_command(env["CALLBACK_QUEUE"])
    with running(command, env, log_path, worker_ready(log_path), "callback worker") as process:
        yield process


@contextmanager
def api_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """A real ``python -m swagger_server`` process on a free port; yields its base URL."""
    port = free_port()
    with running(api_command(), dict(env, PORT=str(port), HOST="127.0.0.1"), log_path, answers_health(port), "API"):
        yield f"http://127.0.0.1:{port}"
