"""Chaos: hostile callback receivers and a central DB that fails for a while; nothing slows, nothing vanishes."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from swagger_server.app import create_app
from tests.central_db.support import central_env, central_settings, user_token
from tests.chaos.rig import submit, wait_for_state, worker
from tests.fakes.eve_server import EveServer, Fault
from tests.fakes.receiver import Receiver, Reply
from tests.jobs import README_JOB, wait_for
from tests.services import callback_worker, celery_worker, service_env

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


def test_hanging_dripping_and_failing_receivers_hold_nothing_and_lose_nothing(
    api: httpx.Client, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    deliveries = chaos_env | {"CALLBACK_RETRY_TOTAL": "6"}  # give up sooner than the other tests' worker
    with (
        Receiver() as hanging,
        Receiver() as dripping,
        Receiver() as flaky,
        worker(chaos_env, tmp_path / "worker.log"),
        callback_worker(deliveries, tmp_path / "callbacks.log"),
    ):
        hanging.replies = [Reply(delay=120)] * 50  # never answers within an attempt's deadline
        dripping.replies = [Reply(drip=1.0, body="a slow thanks")] * 50  # a byte a second
        flaky.replies = [Reply(status=500), Reply(status=200)]
        receivers = {"hanging": hanging, "dripping": dripping, "flaky": flaky}
        jobs = {name: submit(api, callback={"url": r.url()}) for name, r in receivers.items()}
        for name in receivers:
            wait_for_state(api, jobs[name], 30, lambda j: bool((j.get("callback") or {}).get("attempts")))
        for _ in range(3):  # the deliveries are under way: small jobs go through at full speed
            started = time.monotonic()
            small = submit(api)
            assert wait_for_state(api, small, 5)["state"] == "succeeded"
            assert time.monotonic() - started < 5
        final = {
            name: wait_for_state(
                api, job_id, 60, lambda j: (j.get("callback") or {}).get("state", "pending") != "pending"
            )
            for name, job_id in jobs.items()
        }
    delivered = final["flaky"]["callback"]
    assert delivered["state"] == "delivered"
    assert [a.get("status") for a in delivered["attempts"]] == [500, 200]
    assert len(flaky.received) == 2  # delivered once: no attempt after the 200
    for name in ("hanging", "dripping"):
        callback = final[name]["callback"]
        assert callback["state"] == "failed", callback
        assert callback["reason"] and len(callback["attempts"]) >= 2
        assert all(a["outcome"] in ("retry", "failed") and a.get("error") for a in callback["attempts"])
        assert len(receivers[name].received) == len(callback["attempts"])  # every attempt recorded


@pytest.fixture(scope="module")
def patient_central(
    eve: EveServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, EveServer]]:
    """A worker in central-DB mode that waits up to 40 s for an unreachable central DB, and an app on its queue."""
    queue = "pricing-chaos-central"
    patient = central_env(eve) | {"CENTRAL_DB_OUTAGE_SECONDS": "40"}
    env = service_env(redis_url, Path("/nonexistent"), queue, **patient)
    with celery_worker(env, tmp_path_factory.mktemp("patient") / "worker.log", name="patient"):
        yield create_app(central_settings(redis_url, queue, eve)).test_client(), eve


def test_a_central_db_down_for_a_while_delays_the_job_but_it_succeeds(patient_central, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    client, eve = patient_central
    headers = user_token(eve)
    eve.state.faults.append(Fault("curtailable_loads", status=503, times=None))
    body = {k: v for k, v in README_JOB.items() if k != "callback"}
    response = client.post("/pricing", json=body, headers=headers)
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]
    outage_ends = time.monotonic() + 10
    deadline = time.monotonic() + 30
    while eve.state.calls["curtailable_loads"] < 6 and time.monotonic() < deadline:  # two jobs' worth of attempts
        time.sleep(0.2)
    assert eve.state.calls["curtailable_loads"] >= 6, "the job must have met the outage more than once"
    time.sleep(max(0.0, outage_ends - time.monotonic()))  # down for 10 s in all
    assert client.get(f"/pricing/{job_id}", headers=headers).json()["state"] == "running"
    eve.state.faults.clear()
    done = wait_for(client, job_id, timeout=90, headers=headers)
    assert done["state"] == "succeeded", done
