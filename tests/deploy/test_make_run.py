"""`cp .env.example .env && make run`: Redis, a worker and the API start; a job succeeds; Ctrl-C stops all; the job is kept."""

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from swagger_server.embedded import answers_health, free_port, wait_until
from tests.documents import REPO_ROOT
from tests.jobs import AUTH, README_JOB

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_with_the_example_env_file_prices_a_job_stops_cleanly_and_keeps_it(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")
    api_port, redis_port = free_port(), free_port()
    # The embedded Redis keeps its default folder, var/redis relative to where make run starts (a relative path:
    # redis-server once failed on it from a clean clone, looking for its log file inside that folder).
    hidden = ("REDIS_URL", "SAMPLE_DATA", "CELERY_QUEUE", "EMBEDDED_REDIS_DIR")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env.update(PORT=str(api_port), EMBEDDED_REDIS_PORT=str(redis_port), PYTHONPATH=str(REPO_ROOT))
    body = {k: v for k, v in README_JOB.items() if k != "callback"}
    base = f"http://127.0.0.1:{api_port}"
    with make_run(env, tmp_path) as launcher:
        wait_until(answers_health(api_port), 60, what="the API of make run")
        assert httpx.get(f"{base}/health").json()["mode"] == "sample-data"
        job_id = httpx.post(f"{base}/pricing", json=body, headers=AUTH).json()["job_id"]

        def finished() -> str | None:
            state = httpx.get(f"{base}/pricing/{job_id}", headers=AUTH).json()["state"]
            return state if state in ("succeeded", "failed", "cancelled") else None

        assert wait_until(finished, 60, what="the job") == "succeeded"
        assert (tmp_path / "var" / "redis" / "redis.log").exists(), "the embedded Redis is not in var/redis"
        before = httpx.get(f"{base}/pricing/{job_id}", headers=AUTH).json()
    assert launcher.returncode == 0, (tmp_path / "make-run.log").read_text()[-3000:]
    assert not listening(api_port) and not listening(redis_port), "a child outlived make run"
    # Started again on the same folder: the embedded Redis kept the job and its result.
    with make_run(env, tmp_path):
        wait_until(answers_health(api_port), 60, what="the API of make run, again")
        assert httpx.get(f"{base}/pricing/{job_id}", headers=AUTH).json() == before


@contextmanager
def make_run(env: dict[str, str], folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """What ``make run`` starts, stopped with Ctrl-C (SIGINT) when the block ends."""
    with (folder / "make-run.log").open("ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "swagger_server.embedded"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield launcher
        finally:
            launcher.send_signal(signal.SIGINT)  # Ctrl-C
            launcher.wait(timeout=90)
