"""Metrics, structured logs and request limits."""

import json
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from swagger_server.app import create_app
from tests.fakes.receiver import Receiver, Reply
from tests.jobs import AUTH, README_JOB, long_job_changes, submit, wait_for
from tests.services import METRICS_TOKEN, celery_worker, make_settings, service_env

pytestmark = pytest.mark.integration


def scrape(client) -> dict[str, float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = sample.name + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items()) if k != "le")
            if "le" not in sample.labels:
                samples[key] = sample.value
    return samples


@pytest.mark.usefixtures("worker")
def test_metrics_move_after_a_job(client) -> None:  # type: ignore[no-untyped-def]
    """Counters only this test moves are exact; those a late task of an earlier test could also move are ranges."""
    before = scrape(client)
    job = wait_for(client, submit(client, gamma_values=[1.0, 2.0]))
    assert job["status"] == "SUCCESS"
    after = scrape(client)
    assert after["pricing_jobs_submitted_total"] == before["pricing_jobs_submitted_total"] + 1
    finished = "pricing_jobs_finished_total{status=SUCCESS}"
    assert after[finished] >= before[finished] + 1
    assert after["pricing_job_duration_seconds_count"] >= before["pricing_job_duration_seconds_count"] + 1
    assert after["pricing_solve_time_seconds_count"] >= before["pricing_solve_time_seconds_count"] + 3
    assert after["pricing_solve_time_seconds_sum"] > before["pricing_solve_time_seconds_sum"]


@pytest.mark.usefixtures("worker")
def test_metrics_count_failed_and_cancelled_jobs_failed_callbacks_and_the_queue(  # type: ignore[no-untyped-def]
    client, redis_url, service_sample_dir
) -> None:
    before = scrape(client)
    failed = wait_for(
        client, submit(client, start_datetime="2021-11-12T00:00:00Z", end_datetime="2021-11-13T00:00:00Z")
    )
    cancelled_id = submit(client, **long_job_changes())
    assert client.delete(f"/pricing/{cancelled_id}", headers=AUTH).status_code == 200
    with Receiver() as receiver:
        receiver.replies = [Reply(status=410, body="gone")]
        given_up = submit(client, callback={"url": receiver.url()})
        wait_for(client, given_up, predicate=lambda b: b.get("callback", {}).get("state") == "failed", timeout=60)
    after = scrape(client)
    assert failed["status"] == "FAILURE"
    for status in ("FAILURE", "REVOKED"):
        key = f"pricing_jobs_finished_total{{status={status}}}"
        assert after[key] >= before.get(key, 0) + 1, key
    assert after["pricing_callbacks_failed_total"] >= before["pricing_callbacks_failed_total"] + 1
    # The queue gauge reads the broker: on a queue no worker reads, it counts exactly the jobs waiting there.
    idle_queue = f"pricing-idle-{uuid.uuid4().hex[:8]}"
    idle = create_app(make_settings(redis_url, service_sample_dir, idle_queue)).test_client()
    assert scrape(idle)["pricing_queue_length"] == 0
    for _ in range(3):
        submit(idle)
    assert scrape(idle)["pricing_queue_length"] == 3


def test_body_larger_than_the_cap_is_a_413_problem(redis_url, service_sample_dir, queue_name) -> None:  # type: ignore[no-untyped-def]
    client = create_app(make_settings(redis_url, service_sample_dir, queue_name, max_request_bytes=4096)).test_client()
    names = [f"user_{k}_High" for k in range(1, 301)]
    response = client.post("/pricing", json={**README_JOB, "dr_prosumers": names}, headers=AUTH)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "larger than 4096 bytes" in response.json()["detail"]
    assert client.post("/pricing", json={**README_JOB, "callback": None}, headers=AUTH).status_code == 201
    # without Content-Length (chunked): the same 413, not a 400 from a body cut off mid-stream
    chunked = client.post(
        "/pricing", content=(b" " * 1024 for _ in range(10_000)), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert chunked.status_code == 413 and "larger than 4096 bytes" in chunked.json()["detail"]


def test_worker_logs_are_json_lines_with_the_job_id(redis_url, service_sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    queue = "pricing-json-logs"
    env = service_env(redis_url, service_sample_dir, queue, LOG_JSON="1")
    with celery_worker(env, tmp_path / "worker.log", name="json"):
        client = create_app(make_settings(redis_url, service_sample_dir, queue)).test_client()
        job_id = submit(client)
        assert wait_for(client, job_id)["status"] == "SUCCESS"
    records = []
    for line in (tmp_path / "worker.log").read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    mine = [r for r in records if r.get("job_id") == job_id]
    events = {r["event"].split()[0] for r in mine}
    assert {"job.prepared", "solve.done", "job.succeeded"} <= events, events
    assert all({"timestamp", "level", "logger", "task_id"} <= set(r) for r in mine)


def test_metrics_are_for_the_configured_networks_or_the_token(client) -> None:  # type: ignore[no-untyped-def]
    refused = client.get("/metrics")  # the in-process client has no address in METRICS_NETWORKS
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
