"""Chaos: workers killed and Redis restarted mid-job; every job still ends, nothing lost or solved twice."""

import signal
import time
from pathlib import Path

import httpx
import pytest
import redis

from swagger_server.core.settings import Settings
from swagger_server.embedded import wait_until
from tests.chaos.rig import PrivateRedis, inside_a_task, long_job, longest_job, read, submit, wait_for_state, worker

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

#: The visibility timeout the workers run with (the default): a dead worker's task runs again after it.
VISIBILITY = Settings(_env_file=None).broker_visibility_timeout  # type: ignore[call-arg]


def early_in_the_job(job: dict) -> bool:  # type: ignore[type-arg]
    """Running, with a tenth to a half of its gammas stored: a fault now lands mid-job, with seconds to go."""
    return job["state"] == "running" and 0.1 <= job["progress"] <= 0.5


def assert_complete(job: dict, gammas: list[float]) -> None:  # type: ignore[type-arg]
    """The job succeeded with every gamma solved exactly once, in order."""
    assert job["state"] == "succeeded", job
    assert job["result"]["raw_data"]["GAMMA"] == pytest.approx(gammas)


def test_a_killed_pool_process_loses_nothing(api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path) -> None:
    env = chaos_env | {"GAMMAS_PER_TASK": "10"}
    job = long_job()
    with worker(env, tmp_path / "worker.log") as process:
        job_id = submit(api, **job)
        wait_for_state(api, job_id, 120, inside_a_task(len(job["gamma_values"]), per_task=10))
        killed = process.kill_a_child()
        done = wait_for_state(api, job_id, 90)
    assert_complete(done, job["gamma_values"])
    log = (tmp_path / "worker.log").read_text()
    assert f"pid:{killed} exited with 'signal 9 (SIGKILL)'" in log
    assert "Worker exited prematurely: signal 9 (SIGKILL)" in log, "the killed process was running the task"


def solve_starts(log_path: Path) -> int:
    """How many times the worker has received a solve task (a redelivered one again)."""
    lines = log_path.read_text().splitlines()
    return sum("pricing.solve_chunk[" in line and line.endswith("received") for line in lines)


def test_a_task_whose_process_is_killed_at_every_start_fails_its_job_instead_of_going_round(
    api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    """As out-of-memory kills would: the pool process running the job's one task is killed at each of its
    TASK_MAX_STARTS (2) starts; the broker hands the task out again each time, and its third start fails the job
    with a message saying what happened, keeping the gammas solved; the worker goes on with other jobs."""
    env = chaos_env | {"TASK_MAX_STARTS": "2", "GAMMAS_PER_TASK": "100"}
    job = longest_job()
    log_path = tmp_path / "worker.log"
    killed: list[int] = []
    with worker(env, log_path) as process:
        job_id = submit(api, **job)
        for start in range(1, 3):
            # Once the task has started for the start-th time (so that a gamma stored by a process killed just
            # before cannot count), kill its process as soon as it has stored a gamma of its own.
            wait_until(lambda n=start: solve_starts(log_path) >= n, 60, what=f"start {start} of the task")
            seen = (read(api, job_id) or {}).get("progress", 0.0)
            solving = wait_for_state(api, job_id, 120, lambda j, seen=seen: j["progress"] > seen)
            assert solving["state"] == "running", solving
            killed.append(process.kill_a_child())
        done = wait_for_state(api, job_id, 120)
        assert wait_for_state(api, submit(api), 60)["state"] == "succeeded"
    log = log_path.read_text()
    assert all(f"pid:{pid} exited with 'signal 9 (SIGKILL)'" in log for pid in killed), (killed, log[-3000:])
    assert done["state"] == "failed", done
    assert "the worker process running this step stopped 2 times before it finished" in done["error"], done["error"]
    assert done["error"].endswith("or give each worker process more memory")
    assert 0 < done["progress"] < 1


def test_a_killed_worker_s_task_runs_again_on_another_within_a_minute(
    api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    # The kill must land inside a task: one that has stored its last gamma but is not yet acknowledged leaves
    # nothing held (it failed that way in CI, with 4-gamma tasks of 0.05 s a gamma). So tasks of 10 gammas.
    per_task = 10
    env = chaos_env | {"GAMMAS_PER_TASK": str(per_task)}
    job = longest_job()
    with worker(env, tmp_path / "first.log", name="first") as first:
        job_id = submit(api, **job)
        wait_for_state(api, job_id, 120, inside_a_task(len(job["gamma_values"]), per_task))
        first.kill_all()
        killed_at = time.monotonic()
    with worker(env, tmp_path / "second.log", name="second"):
        # The other gammas run at once; the one the dead worker held was not renewed since the kill, so the job
        # can only finish once the visibility timeout gives that task back to the queue.
        done = wait_for_state(api, job_id, VISIBILITY + 45)
        finished_after = time.monotonic() - killed_at
    assert_complete(done, job["gamma_values"])
    assert finished_after > VISIBILITY - 10, f"finished {finished_after:.0f} s after the kill: nothing was held?"
    assert finished_after < 90, f"the job ended {finished_after:.0f} s after the kill, not within 90 s"
    assert "second@" in str(done["result"]["raw_data"]["SOLVER"]), "the second worker solved the rest"


@pytest.mark.parametrize("how", ["kill", "shut_down"])
def test_redis_restarted_mid_job(
    how: str, api: httpx.Client, chaos_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    job = long_job()
    with worker(chaos_env, tmp_path / "worker.log"):
        job_id = submit(api, **job)
        wait_for_state(api, job_id, 120, early_in_the_job)
        getattr(private_redis, how)()
        time.sleep(8)  # Redis stays down for a while: the API answers 503, the worker waits
        assert api.get("/ready").status_code == 503
        private_redis.start()
        done = wait_for_state(api, job_id, 90)
        assert_complete(done, job["gamma_values"])
        small = submit(api)
        assert wait_for_state(api, small, 30)["state"] == "succeeded"
    assert redis.Redis.from_url(private_redis.url).zscore("pricing:heartbeats", job_id) is None


def test_a_live_worker_s_long_task_is_renewed_and_never_handed_to_a_second(
    api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    """One task of every gamma, much longer than a short visibility timeout: heartbeats keep it with its worker."""
    env = chaos_env | {"BROKER_VISIBILITY_TIMEOUT": "5", "WORKER_HEARTBEAT_SECONDS": "1", "GAMMAS_PER_TASK": "100"}
    job = longest_job()  # one task of every gamma, far longer than the visibility timeout
    with worker(env, tmp_path / "first.log", name="first"), worker(env, tmp_path / "second.log", name="second"):
        job_id = submit(api, **job)
        done = wait_for_state(api, job_id, 180)
    assert_complete(done, job["gamma_values"])
    solved_by = {entry["solved_by"].split("@")[0] for entry in done["result"]["raw_data"]["SOLVER"]}
    assert len(solved_by) == 1, f"the task was handed to a second worker while it ran: {solved_by}"
    seconds = sum(entry["solve_seconds"] for entry in done["result"]["raw_data"]["SOLVER"])
    assert seconds > 2 * 5, f"the task ({seconds:.0f} s) must outlast the visibility timeout for this test to hold"


def test_sigterm_gives_a_running_task_the_soft_shutdown_timeout_then_puts_it_back(
    api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    """``systemctl stop`` of a worker mid-task: after WORKER_SOFT_SHUTDOWN_TIMEOUT its task goes back to the queue
    at once (not after the visibility timeout), and another worker finishes the job without solving a gamma twice."""
    env = chaos_env | {"WORKER_SOFT_SHUTDOWN_TIMEOUT": "2", "GAMMAS_PER_TASK": "100"}
    job = longest_job()  # one task of every gamma: far longer than 2 s
    with worker(env, tmp_path / "first.log", name="first") as first:
        job_id = submit(api, **job)
        wait_for_state(api, job_id, 120, early_in_the_job)
        first.process.send_signal(signal.SIGTERM)  # to the worker itself, as `celery multi stop` sends it
        assert first.process.wait(timeout=60) == 0
    log = (tmp_path / "first.log").read_text()
    assert "Initiating Soft Shutdown, terminating in 2" in log and "Restoring 1 unacknowledged message(s)" in log
    assert (read(api, job_id) or {}).get("state") == "running"  # the task was stopped, not finished
    with worker(env, tmp_path / "second.log", name="second"):
        done = wait_for_state(api, job_id, 120)
    assert_complete(done, job["gamma_values"])
    solved_by = [entry["solved_by"].split("@")[0] for entry in done["result"]["raw_data"]["SOLVER"]]
    assert set(solved_by) == {"first", "second"}, solved_by  # what the first stored was kept, the rest solved once


def test_a_task_past_its_soft_time_limit_fails_its_job_naming_the_limit(
    api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    """TASK_SOFT_TIME_LIMIT stops a task that runs too long; its job fails saying so and the worker goes on."""
    env = chaos_env | {"TASK_SOFT_TIME_LIMIT": "10", "TASK_TIME_LIMIT": "40", "GAMMAS_PER_TASK": "100"}
    job = longest_job()  # one task of every gamma: far longer than 10 s
    with worker(env, tmp_path / "worker.log"):
        job_id = submit(api, **job)
        done = wait_for_state(api, job_id, 120)
        assert wait_for_state(api, submit(api), 60)["state"] == "succeeded"
    assert done["state"] == "failed", done
    assert done["error"].endswith("exceeded the time limit of 10 s; submit fewer prosumers or gamma values")
    assert 0 < done["progress"] < 1  # stopped part-way, not before it started
