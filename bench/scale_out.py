"""Benchmark: one 1000-user, 11-gamma job with 1 and with 2 worker processes.

Starts its own Redis (the embedded one of ``make run``) and real Celery
workers, submits the job through the API app and times submit -> SUCCESS.
Prints both times and the speed-up. Each configuration runs ``--repeat``
times and the best time counts (the first run of a worker also warms it up).

It also prints the machine's own ceiling: the speed-up of a pure CPU loop run
in 2 processes at once instead of 1 (2.0 on two idle physical cores; less on
a VM whose vCPUs share hardware), so that the job's speed-up can be read
against what the machine can give.

    python -m bench.scale_out [--users 1000] [--repeat 2]
"""

import argparse
import logging
import multiprocessing
import os
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from swagger_server.app import create_app
from swagger_server.core.settings import Settings
from swagger_server.embedded import free_port, running, start_embedded_redis, worker_command, worker_ready
from swagger_server.sample_data.generator import generate_documents, write_documents

GAMMAS = [0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0]  # with gamma 0: 11 values
logger = logging.getLogger("bench.scale_out")
logger.setLevel(logging.INFO)  # the app configures the root logger at WARNING


def time_job(client, names: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Seconds from POST to SUCCESS."""
    body = {
        "start_datetime": "2021-11-11T00:00:00Z",
        "end_datetime": "2021-11-12T00:00:00Z",
        "dr_prosumers": names,
        "flex_request": "flex_request_1_High",
        "profit_margin": 0.2,
        "gamma_values": GAMMAS,
    }
    started = time.perf_counter()
    job_id = client.post("/pricing", json=body, headers={"Authorization": "Bearer bench"}).json()["job_id"]
    while True:
        job = client.get(f"/pricing/{job_id}", headers={"Authorization": "Bearer bench"}).json()
        if job["status"] in ("SUCCESS", "FAILURE", "REVOKED"):
            break
        time.sleep(0.05)
    if job["status"] != "SUCCESS":
        raise RuntimeError(f"job ended {job['status']}: {job.get('error')}")
    return time.perf_counter() - started


def _spin(_: int) -> float:
    """A fixed CPU-bound loop (no memory traffic); its duration in seconds."""
    started = time.perf_counter()
    total = 0
    for i in range(15_000_000):
        total += i * i
    return time.perf_counter() - started


def machine_ceiling() -> float:
    """Speed-up of 2 processes over 1 on a pure CPU loop: what two workers can gain at best."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        alone = pool.apply(_spin, (0,))
        together = max(pool.map(_spin, [0, 1]))
    return 2 * alone / together


def worker(env: dict[str, str], log: Path, name: str) -> AbstractContextManager[object]:
    """A Celery worker process started as ``make run`` starts it, ready when entered.

    Celery's own log stays at INFO whatever ``LOG_LEVEL`` says: readiness is its ``ready.`` line.
    """
    return running(worker_command(name, "INFO"), env, log, worker_ready(log), name)


def main() -> None:
    """Run the job with 1 and 2 workers and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--gammas-per-task", type=int, default=1, help="GAMMAS_PER_TASK of the workers")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        per_level = -(-args.users // 3)
        write_documents(generate_documents(users_per_level=per_level), root / "data")
        names = [f"user_{k}_{level}" for k in range(1, per_level + 1) for level in ("Low", "Medium", "High")]
        names = names[: args.users]
        port = free_port()
        redis_process = start_embedded_redis(port, root / "redis")
        url = f"redis://127.0.0.1:{port}/0"
        log_level = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
        env = dict(
            os.environ,
            REDIS_URL=url,
            SAMPLE_DATA="1",
            SAMPLE_DATA_DIR=str(root / "data"),
            CELERY_QUEUE="bench",
            LOG_LEVEL=log_level,
            GAMMAS_PER_TASK=str(args.gammas_per_task),
        )
        settings = Settings(
            _env_file=None,
            redis_url=url,
            sample_data=True,
            sample_data_dir=root / "data",  # type: ignore[call-arg]
            celery_queue="bench",
            log_level="WARNING",
        )
        client = create_app(settings).test_client()
        times: dict[int, float] = {}
        try:
            with worker(env, root / "w1.log", "bench-1"):
                if os.environ.get("BENCH_LOG_LEVEL"):
                    time_job(client, names)
                    logger.info("%s", (root / "w1.log").read_text()[-6000:])
                times[1] = min(time_job(client, names) for _ in range(args.repeat))
                with worker(env, root / "w2.log", "bench-2"):
                    times[2] = min(time_job(client, names) for _ in range(args.repeat))
                    if os.environ.get("BENCH_LOG_LEVEL"):
                        logger.info("%s", (root / "w2.log").read_text()[-3000:])
        finally:
            redis_process.terminate()
    logger.info(
        "job: %d users, %d gammas, T = 24, %d gamma(s) per task; best of %d runs",
        len(names),
        len(GAMMAS) + 1,
        args.gammas_per_task,
        args.repeat,
    )
    logger.info("1 worker process : %6.2f s", times[1])
    logger.info("2 worker processes: %6.2f s", times[2])
    logger.info("speed-up          : %6.2fx", times[1] / times[2])
    logger.info("machine ceiling   : %6.2fx (a CPU loop in 2 processes vs 1)", machine_ceiling())


if __name__ == "__main__":
    main()
