"""Benchmark: many clients submit, poll and list while the worker is busy.

Starts what ``make run`` starts (the embedded Redis, one pricing worker, the
API on uvicorn on 127.0.0.1), stores ``--stored`` finished jobs (so that lists
page through a full store), queues one large job that keeps the worker busy,
then lets ``--clients`` threads each submit ``--jobs`` small jobs over HTTP and
poll each until it is final, listing ``GET /pricing?limit=50`` between polls.

Prints p50/p95/p99 latency per operation (POST, GET, list), the number of
errors (any answer that is not 2xx, or a connection error), and the seconds
from the first submit until every small job is SUCCESS. The baseline in the
same run is the same operations on an idle service (no busy job, one client).

    python -m bench.load [--clients 20] [--jobs 10] [--stored 20000] [--busy-users 900]
"""

import argparse
import os
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobRecord, JobRequest, JobState, utc_now
from swagger_server.embedded import (
    ROOT,
    answers_health,
    api_command,
    free_port,
    running,
    start_embedded_redis,
    worker_command,
    worker_ready,
)
from swagger_server.sample_data.generator import generate_documents, write_documents

AUTH = {"Authorization": "Bearer bench"}
FINAL = ("SUCCESS", "FAILURE")


def job_body(names: list[str], gammas: list[float]) -> dict[str, object]:
    """A pricing request over the sample day."""
    return {
        "start_datetime": "2021-11-11T00:00:00Z",
        "end_datetime": "2021-11-12T00:00:00Z",
        "dr_prosumers": names,
        "flex_request": "flex_request_1_High",
        "profit_margin": 0.2,
        "gamma_values": gammas,
    }


class Timings:
    """Latencies per operation and errors, from many threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def call(
        self, client: httpx.Client, operation: str, method: str, url: str, **kwargs: object
    ) -> httpx.Response | None:
        """One timed request; a non-2xx answer or a transport error counts as an error."""
        started = time.perf_counter()
        try:
            response = client.request(method, url, headers=AUTH, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError:
            response = None
        elapsed = time.perf_counter() - started
        with self._lock:
            self.seconds[operation].append(elapsed)
            if response is None or not response.is_success:
                self.errors[operation] += 1
        return response

    def report(self, title: str) -> None:
        """p50/p95/p99 in milliseconds per operation."""
        print(f"\n{title}")
        print(f"{'operation':>10} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for operation in ("POST", "GET", "list"):
            values = np.array(self.seconds.get(operation, [np.nan])) * 1000
            p50, p95, p99 = np.percentile(values, [50, 95, 99])
            count = len(self.seconds.get(operation, []))
            print(f"{operation:>10} {count:6d} {p50:8.1f} {p95:8.1f} {p99:8.1f} {self.errors[operation]:7d}")


def client_session(base: str, names: list[str], jobs: int, timings: Timings) -> list[str]:
    """Submit ``jobs`` small jobs one after another, polling and listing until each is final."""
    finished: list[str] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(jobs):
            response = timings.call(client, "POST", "POST", "/pricing", json=job_body(names, [0.0, 1.0]))
            if response is None or not response.is_success:
                continue
            job_id = response.json()["job_id"]
            while True:
                polled = timings.call(client, "GET", "GET", f"/pricing/{job_id}")
                timings.call(client, "list", "GET", "/pricing", params={"limit": 50})
                if polled is not None and polled.is_success and polled.json()["status"] in FINAL:
                    finished.append(polled.json()["status"])
                    break
                time.sleep(0.2)
    return finished


def store_finished_jobs(store: JobStore, count: int) -> None:
    """``count`` succeeded jobs, written as the worker writes them."""
    request = JobRequest.from_json(job_body(["user_1_Low"], [0.0]))
    for _ in range(count):
        record = JobRecord(job_id=str(uuid.uuid4()), state=JobState.QUEUED, request=request, submitted_at=utc_now())
        store.create(record)
        store.mark_started(record.job_id)
        store.mark_success(record.job_id, {"plots": []})


def main() -> None:
    """Start the service, load it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10, help="small jobs per client")
    parser.add_argument("--stored", type=int, default=20000, help="finished jobs already in the store")
    parser.add_argument("--busy-users", type=int, default=900, help="prosumers of the job that keeps the worker busy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        per_level = -(-args.busy_users // 3)
        write_documents(generate_documents(users_per_level=per_level), root / "data")
        all_names = [f"user_{k}_{level}" for k in range(1, per_level + 1) for level in ("Low", "Medium", "High")]
        redis_port, api_port = free_port(), free_port()
        redis_process = start_embedded_redis(redis_port, root / "redis")
        url = f"redis://127.0.0.1:{redis_port}/0"
        env = dict(
            os.environ,
            REDIS_URL=url,
            SAMPLE_DATA="1",
            SAMPLE_DATA_DIR=str(root / "data"),
            HOST="127.0.0.1",
            PORT=str(api_port),
            LOG_LEVEL="INFO",  # as make run
            PYTHONPATH=str(ROOT),
        )
        base = f"http://127.0.0.1:{api_port}"
        try:
            started = time.perf_counter()
            store_finished_jobs(JobStore.from_url(url, retention_days=30), args.stored)
            print(f"stored {args.stored} finished jobs in {time.perf_counter() - started:.1f} s")
            with (
                running(
                    worker_command("bench-load", "INFO"),
                    env,
                    root / "worker.log",
                    worker_ready(root / "worker.log"),
                    "worker",
                ),
                running(api_command(), env, root / "api.log", answers_health(api_port), "API"),
            ):
                idle = Timings()
                client_session(base, all_names[:3], 5, idle)
                idle.report("baseline: one client, idle worker, 5 small jobs")

                with httpx.Client(base_url=base, timeout=30) as client:
                    gammas = [0.0, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0]
                    client.post("/pricing", json=job_body(all_names[: args.busy_users], gammas), headers=AUTH)
                loaded = Timings()
                started = time.perf_counter()
                with ThreadPoolExecutor(args.clients) as pool:
                    outcomes = list(
                        pool.map(
                            lambda k: client_session(base, all_names[k % 30 : k % 30 + 3], args.jobs, loaded),
                            range(args.clients),
                        )
                    )
                total = time.perf_counter() - started
                loaded.report(
                    f"under load: {args.clients} clients x {args.jobs} small jobs, the worker busy with "
                    f"{args.busy_users} prosumers x {len(gammas)} gammas, {args.stored} jobs stored"
                )
                statuses = [s for outcome in outcomes for s in outcome]
                print(
                    f"\n{statuses.count('SUCCESS')} of {args.clients * args.jobs} small jobs SUCCESS, "
                    f"{len(statuses) - statuses.count('SUCCESS')} other; all final after {total:.1f} s"
                )
        finally:
            redis_process.terminate()
            redis_process.wait(timeout=30)


if __name__ == "__main__":
    main()
