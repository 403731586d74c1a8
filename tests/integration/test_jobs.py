"""End to end: HTTP -> job store -> Celery worker -> BRTP -> job store -> HTTP, on a real Redis."""

import socket
import uuid
from pathlib import Path

import numpy as np
import pytest

from swagger_server.app import create_app
from swagger_server.core.job_store import JobStore
from swagger_server.embedded import wait_until
from tests.jobs import AUTH, README_JOB, long_job_changes, submit, wait_for, without_timings
from tests.services import api_server, celery_worker, make_settings, service_env

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def assert_readme_result(body: dict) -> None:  # type: ignore[type-arg]
    assert body["status"] == "SUCCESS", body
    assert body["progress"] == 1.0 and body["started_at"] and body["date_done"]
    assert body["error"] is None and body["traceback"] is None
    raw = body["result"]["raw_data"]
    assert raw["GAMMA"] == [0.0, 1.0]
    finalcons = np.array(raw["FINALCONS"])
    assert finalcons.shape == (2, 24) and np.all(finalcons[0] > 0), "gamma 0 must be a real solution, not zeros"
    assert len(raw["AUW_BRTP"]) == len(raw["FLEX_R"]) == len(raw["uw_bar_plot"]) == 2
    plots = body["result"]["plots"]
    assert len(plots["FINAL_ECC"]) == len(plots["UW_BAR"]) == 2
    assert plots["AUW_vs_GAMMA"]["serries"][0]["yvalues"][0] == 1.0


def test_readme_job_runs_end_to_end(client) -> None:  # type: ignore[no-untyped-def]
    job_id = submit(client, callback=README_JOB["callback"])
    body = wait_for(client, job_id)
    assert_readme_result(body)
    assert body["request"]["callback"] == README_JOB["callback"]
    # Nobody listens on localhost:9000 here: delivery is attempted and retried.
    attempted = wait_for(client, job_id, predicate=lambda b: "callback" in b)
    assert attempted["callback"]["url"] == "http://localhost:9000/pricing"
    assert attempted["callback"]["attempts"][0]["error"].startswith("connection failed")


def test_running_job_can_be_cancelled_and_the_worker_takes_the_next(client) -> None:  # type: ignore[no-untyped-def]
    long_id = submit(client, **long_job_changes())
    wait_for(client, long_id, states=("running",), predicate=lambda b: b["progress"] > 0, timeout=60)
    cancelled = client.delete(f"/pricing/{long_id}", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    next_id = submit(client)
    assert_readme_result(wait_for(client, next_id))
    final = wait_for(client, long_id)
    assert final["state"] == "cancelled" and final["progress"] < 1 and "result" not in final
    assert final["status"] == "FAILURE" and "cancelled" in final["error"]


def test_many_gammas_per_task_give_the_same_numbers_and_a_cancel_stops_the_task_mid_chunk(  # type: ignore[no-untyped-def]
    client, redis_url: str, service_sample_dir: Path, tmp_path: Path
) -> None:
    """``GAMMAS_PER_TASK=50``: a job is one solve task on one worker, with the numbers of one gamma per task;
    a DELETE ends that task after the gamma it is solving (its log says so), and the worker takes the next job.
    """
    queue = f"pricing-chunked-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "chunked-worker.log"
    chunked = create_app(make_settings(redis_url, service_sample_dir, queue)).test_client()
    four = {"gamma_values": [0, 0.5, 1.0, 1.5]}
    one_per_task = wait_for(client, submit(client, **four))
    with celery_worker(service_env(redis_url, service_sample_dir, queue, GAMMAS_PER_TASK="50"), log, name="chunked"):
        together = wait_for(chunked, submit(chunked, **four))
        assert without_timings(together["result"]) == without_timings(one_per_task["result"])
        assert {row["solved_by"] for row in together["result"]["raw_data"]["SOLVER"]} == {
            f"chunked@{socket.gethostname()}"
        }
        assert log.read_text().count("solve.done") == 1  # one task solved the four gammas

        long_id = submit(chunked, **long_job_changes())
        wait_for(chunked, long_id, states=("running",), predicate=lambda b: b["progress"] > 0, timeout=60)
        assert chunked.delete(f"/pricing/{long_id}", headers=AUTH).status_code == 200
        # The cause, from the worker: the task stopped on the cancel (no 'solve.done' for the long job).
        wait_until(lambda: _logged(log, "job.cancelled", long_id), 60, what="the chunk to stop on the cancel")
        assert not _logged(log, "solve.done", long_id)
        assert_readme_result(wait_for(chunked, submit(chunked), timeout=60))


def _logged(log: Path, event: str, job_id: str) -> bool:
    """True if a line of the worker's log has ``event`` for ``job_id``."""
    return any(event in line and job_id in line for line in log.read_text().splitlines())


def test_a_cancel_revokes_the_queued_solve_tasks(client, worker_log: Path, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """A running job's solve tasks still in the queue are revoked: the worker discards them instead of running them."""
    long_id = submit(client, **long_job_changes())
    wait_for(client, long_id, states=("running",), predicate=lambda b: b["progress"] > 0, timeout=60)
    solve_tasks = JobStore.from_url(redis_url, retention_days=1).workspace(60).task_ids(long_id)
    assert len(solve_tasks) == 50  # one per gamma (gamma 0 is among the 50 values)
    assert client.delete(f"/pricing/{long_id}", headers=AUTH).status_code == 200
    assert_readme_result(wait_for(client, submit(client)))  # taken after the discarded ones
    discarded = [t for t in solve_tasks if _logged(worker_log, "Discarding revoked task", t)]
    assert len(discarded) >= 40, f"{len(discarded)} of the 50 solve tasks were discarded as revoked"


def test_queued_job_can_be_cancelled_before_it_starts(redis_url, service_sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On a queue no worker reads yet the job is queued for certain; cancelled there, a worker started later skips it."""
    queue = f"pricing-idle-{uuid.uuid4().hex[:8]}"
    idle = create_app(make_settings(redis_url, service_sample_dir, queue)).test_client()
    queued_id = submit(idle)
    assert idle.get(f"/pricing/{queued_id}", headers=AUTH).json()["state"] == "queued"
    response = idle.delete(f"/pricing/{queued_id}", headers=AUTH)
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    log = tmp_path / "late-worker.log"
    with celery_worker(service_env(redis_url, service_sample_dir, queue), log, name="late"):
        assert_readme_result(wait_for(idle, submit(idle)))  # submitted after the cancelled one
        wait_until(lambda: _logged(log, "job.skipped", queued_id), 30, what="the cancelled job's task to be skipped")
    queued = idle.get(f"/pricing/{queued_id}", headers=AUTH).json()
    assert queued["state"] == "cancelled" and "started_at" not in queued
    again = idle.delete(f"/pricing/{queued_id}", headers=AUTH)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")


def test_bad_data_fails_with_a_message_and_other_jobs_go_on(client) -> None:  # type: ignore[no-untyped-def]
    # The sample data covers 2021-11-11 only: a job for the 12th has no data.
    failed_id = submit(client, start_datetime="2021-11-12T00:00:00Z", end_datetime="2021-11-13T00:00:00Z")
    ok_id = submit(client)
    failed = wait_for(client, failed_id)
    assert failed["status"] == "FAILURE"
    assert "user_1_High" in failed["error"] and "curtailable-load slots" in failed["error"]
    assert failed["traceback"] is None
    assert_readme_result(wait_for(client, ok_id))


def test_idempotency_key_returns_the_same_job(client) -> None:  # type: ignore[no-untyped-def]
    headers = {**AUTH, "Idempotency-Key": "test-idempotency-1"}
    first = client.post("/pricing", json=README_JOB, headers=headers)
    second = client.post("/pricing", json=README_JOB, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json() and second.headers["Location"] == first.headers["Location"]
    other = client.post("/pricing", json={**README_JOB, "gamma_values": [2.0]}, headers=headers)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"


def test_list_is_newest_first_filtered_and_paginated(client) -> None:  # type: ignore[no-untyped-def]
    ids = [submit(client, gamma_values=[float(i)]) for i in range(3)]
    for job_id in ids:
        wait_for(client, job_id)
    page = client.get("/pricing?limit=2", headers=AUTH).json()
    assert [item["job_id"] for item in page["items"]] == ids[::-1][:2]
    assert page["next"] == "/pricing?limit=2&offset=2" and page["total"] >= 3
    second = client.get(page["next"], headers=AUTH).json()
    assert second["items"][0]["job_id"] == ids[0]
    succeeded = client.get("/pricing?status=SUCCESS&limit=200", headers=AUTH).json()
    assert {item["status"] for item in succeeded["items"]} == {"SUCCESS"}
    assert set(ids) <= {item["job_id"] for item in succeeded["items"]}


def test_job_survives_an_api_restart(redis_url, service_sample_dir, queue_name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    env = service_env(redis_url, service_sample_dir, queue_name)
    with api_server(env, tmp_path / "api.log") as base:
        client = httpx.Client(base_url=base, timeout=10)
        job_id = submit(client)
        before = wait_for(client, job_id)
    with api_server(env, tmp_path / "api.log") as base:
        after = httpx.Client(base_url=base, timeout=10).get(f"/pricing/{job_id}", headers=AUTH).json()
    assert_readme_result(after)
    assert after == before


def test_embedded_redis_runs_a_job_end_to_end(embedded_redis_url, service_sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    queue = "pricing-embedded"
    env = service_env(embedded_redis_url, service_sample_dir, queue)
    with celery_worker(env, tmp_path / "worker.log", name="embedded"):
        client = create_app(make_settings(embedded_redis_url, service_sample_dir, queue)).test_client()
        assert_readme_result(wait_for(client, submit(client)))
