"""Real services for integration tests: Redis, Celery workers and API servers as processes."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from tests.documents import REPO_ROOT

SYSTEM_REDIS = "redis://127.0.0.1:6379/15"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str) -> bool:
    """True if a Redis answers at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def service_env(redis_url: str, sample_dir: Path, queue: str, **extra: str) -> dict[str, str]:
    """Environment for a worker or API process of the tests."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        SAMPLE_DATA="1",
        SAMPLE_DATA_DIR=str(sample_dir),
        CELERY_QUEUE=queue,
        LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


@contextmanager
def running(
    command: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], bool], what: str, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """A process started with its output in ``log_path``; yielded once ``ready()``; stopped afterwards."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)

        def started() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited: {log_path.read_text()[-3000:]}")
            return ready()

        try:
            wait_until(started, timeout, what=f"{what} to start")
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def answers_health(port: int) -> Callable[[], bool]:
    """A readiness check: GET /health on 127.0.0.1:``port`` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check


@contextmanager
def celery_worker(env: dict[str, str], log_path: Path, name: str = "worker") -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery -A workers.tasks worker`` process, ready when yielded."""
    command = [sys.executable, "-m", "celery", "-A", "workers.tasks", "worker", "--concurrency", "1",
               "--loglevel", "INFO", "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip"]  # fmt: skip
    with running(command, env, log_path, lambda: b"ready." in log_path.read_bytes(), "worker") as process:
        yield process


@contextmanager
def api_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """A real ``python -m swagger_server`` process on a free port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "swagger_server"]
    with running(command, dict(env, PORT=str(port), HOST="127.0.0.1"), log_path, answers_health(port), "API"):
        yield f"http://127.0.0.1:{port}"
