"""Chaos: the broker loses a job's tasks; the sweeper finds the job and drives it on, or fails it with a message."""

import json
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from kombu.transport.redis import Channel

from swagger_server.core.data_sources import SampleFiles
from swagger_server.core.job_store import JOB_KEY, JobStore
from swagger_server.core.jobs import JobRecord, JobRequest, JobState, utc_now
from swagger_server.core.settings import Settings
from swagger_server.core.task_queue import ASSEMBLE_JOB_TASK, RUN_JOB_TASK, SOLVE_CHUNK_TASK, celery_app
from tests.chaos.rig import PrivateRedis, long_job, submit, wait_for_state, worker
from tests.fakes.receiver import Receiver
from tests.jobs import README_JOB
from tests.services import callback_worker
from workers.dispatch import drive_on
from workers.job_steps import prepare_job, solve_chunk
from workers.sweeper import job_id_of, jobs_in_broker, sweep

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

#: A sweeper that looks every second and calls a job stuck after 2 s of silence.
FAST_SWEEPER = {"SWEEP_INTERVAL_SECONDS": "1", "STALE_JOB_SECONDS": "2"}


def lose_every_message(url: str, queue: str) -> int:
    """Drop the queue and every held message, as a broker that lost its data would; how many of ``queue``'s went.

    Held messages of every queue go, but only ``queue``'s are counted: the module's Redis is shared, and a worker
    stopped by an earlier test may have left one of its own queue's held (an entry is ``[message, exchange,
    routing key]``, the routing key being the queue's name).
    """
    client = redis.Redis.from_url(url)
    held = [json.loads(entry) for entry in client.hvals(Channel.unacked_key)]
    lost = int(client.llen(queue)) + sum(1 for _, _, routing_key in held if routing_key == queue)
    client.delete(queue, Channel.unacked_key, Channel.unacked_index_key)
    return lost


def redrives(url: str, job_id: str) -> int:
    return int(redis.Redis.from_url(url).hget(JOB_KEY.format(job_id), "redrives") or 0)


def test_a_queued_job_whose_first_task_was_lost_is_driven_on(
    api: httpx.Client, chaos_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    job_id = submit(api)  # no worker yet: its first task waits in the queue...
    assert lose_every_message(private_redis.url, chaos_env["CELERY_QUEUE"]) == 1  # ...and is lost
    with worker(chaos_env | FAST_SWEEPER, tmp_path / "worker.log"):
        done = wait_for_state(api, job_id, 30)
    assert done["state"] == "succeeded", done
    assert redrives(private_redis.url, job_id) == 1


def test_a_running_job_that_lost_its_solve_tasks_gets_only_the_missing_ones_again(
    api: httpx.Client, chaos_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    job = long_job()
    with worker(chaos_env, tmp_path / "first.log", name="first") as first:
        job_id = submit(api, **job)
        wait_for_state(api, job_id, 120, lambda j: j["state"] == "running" and 0.2 <= j["progress"] <= 0.5)
        first.kill_all()
    assert lose_every_message(private_redis.url, chaos_env["CELERY_QUEUE"]) > 0
    with worker(chaos_env | FAST_SWEEPER, tmp_path / "second.log", name="second"):
        done = wait_for_state(api, job_id, 90)
    assert done["state"] == "succeeded", done
    assert done["result"]["raw_data"]["GAMMA"] == pytest.approx(job["gamma_values"])
    by = [entry["solved_by"].split("@")[0] for entry in done["result"]["raw_data"]["SOLVER"]]
    assert by[0] == "first" and by[-1] == "second", by  # the solved gammas were kept, the rest re-sent
    assert redrives(private_redis.url, job_id) == 1


def test_a_job_stuck_past_the_redrive_limit_fails_with_a_message(
    api: httpx.Client, chaos_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    job_id = submit(api)
    lose_every_message(private_redis.url, chaos_env["CELERY_QUEUE"])
    with worker(chaos_env | FAST_SWEEPER | {"JOB_REDRIVE_LIMIT": "0"}, tmp_path / "worker.log"):
        failed = wait_for_state(api, job_id, 30)
    assert failed["state"] == "failed"
    assert failed["error"].startswith("the job stalled 1 times (no worker held any of its tasks for ")
    assert failed["error"].endswith("workers stopped or the broker lost its tasks); submit it again")


def test_a_callback_whose_delivery_task_was_lost_is_delivered_once(
    api: httpx.Client, chaos_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        with worker(chaos_env, tmp_path / "worker.log", name="first"):  # no delivery worker yet
            job_id = submit(api, callback={"url": receiver.url()})
            wait_for_state(api, job_id, 30)
        assert lose_every_message(private_redis.url, chaos_env["CALLBACK_QUEUE"]) == 1  # the delivery task
        with (
            worker(chaos_env | FAST_SWEEPER, tmp_path / "second.log", name="second"),
            callback_worker(chaos_env, tmp_path / "callbacks.log"),
        ):
            done = wait_for_state(api, job_id, 30, lambda j: (j.get("callback") or {}).get("state") == "delivered")
    assert [a["status"] for a in done["callback"]["attempts"]] == [200]
    assert len(receiver.received) == 1
    assert redis.Redis.from_url(private_redis.url).zscore("pricing:callbacks:due", job_id) is None


def test_drive_on_resends_what_the_job_misses_and_the_sweeper_sees_it_queued(
    redis_url: str, service_sample_dir: Path
) -> None:
    """Each stage of a job gets its own next step; a job with a task in the queue is never called stuck."""
    queue = f"sweeper-{uuid.uuid4().hex[:8]}"
    settings = Settings(_env_file=None, redis_url=redis_url, celery_queue=queue)  # type: ignore[call-arg]
    app = celery_app(settings)
    store = JobStore.from_url(redis_url, retention_days=1)
    workspace = store.workspace(600)
    broker = redis.Redis.from_url(redis_url)
    request = JobRequest.from_json({**README_JOB, "profit_margin": 34.4, "gamma_values": [1.0]})
    job_id = str(uuid.uuid4())
    store.create(JobRecord(job_id=job_id, state=JobState.QUEUED, request=request, submitted_at=utc_now()))

    def sent() -> list[str]:
        """Task names of the messages in the queue (emptied after reading)."""
        names = [str(json.loads(raw)["headers"]["task"]) for raw in broker.lrange(queue, 0, -1)]
        broker.delete(queue)
        return names

    assert drive_on(app, store, workspace, job_id, 1) == "run_job" and sent() == [RUN_JOB_TASK]
    prepare_job(job_id, store, workspace, SampleFiles(service_sample_dir))
    assert drive_on(app, store, workspace, job_id, 1) == "solve 2 gamma values"
    assert sent() == [SOLVE_CHUNK_TASK, SOLVE_CHUNK_TASK]
    solve_chunk(job_id, [0], store, workspace, "test")
    assert drive_on(app, store, workspace, job_id, 1) == "solve 1 gamma values" and sent() == [SOLVE_CHUNK_TASK]
    assert solve_chunk(job_id, [1], store, workspace, "test") is True
    assert drive_on(app, store, workspace, job_id, 1) == "assemble"

    # The assembly now waits in the queue: silent as the job is, it is not stuck.
    [raw] = broker.lrange(queue, 0, -1)
    assert json.loads(raw)["headers"]["task"] == ASSEMBLE_JOB_TASK
    assert job_id_of(raw) == job_id and job_id in jobs_in_broker(broker, [queue])
    calls: list[str] = []

    def record(stuck: str) -> str:
        calls.append(stuck)
        return "recorded"

    def no_callbacks(job_id: str) -> None:
        raise AssertionError(f"no callback is due, yet {job_id}'s was re-sent")

    report = sweep(
        store, broker, [queue], now=9e9, stale_seconds=60, redrive_limit=3, drive_on=record, deliver=no_callbacks
    )
    assert job_id not in report.stuck and calls == []
    broker.delete(queue)
    report = sweep(
        store, broker, [queue], now=9e9, stale_seconds=60, redrive_limit=3, drive_on=record, deliver=no_callbacks
    )
    assert job_id in report.stuck and calls == [job_id]
