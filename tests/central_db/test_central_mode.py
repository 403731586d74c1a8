"""Central-DB mode end to end: a real worker reads the Eve-like server; faults end jobs clearly."""

import copy

import pytest

from tests.central_db.support import user_token
from tests.documents import SHARED_EXPORT, load_documents, require_shared
from tests.fakes.eve_server import Fault
from tests.jobs import AUTH, README_JOB, wait_for, without_timings

pytestmark = pytest.mark.integration
JOB = {k: v for k, v in README_JOB.items() if k != "callback"}


def submit(client, headers, **changes):  # type: ignore[no-untyped-def]
    response = client.post("/pricing", json={**JOB, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["job_id"]


def test_job_on_generated_data_equals_the_sample_mode_result(central_client, fresh_eve, sample_mode_client) -> None:  # type: ignore[no-untyped-def]
    headers = user_token(fresh_eve)
    names = [f"user_{k}_{level}" for level in ("Low", "High") for k in range(1, 8)]
    body = wait_for(central_client, submit(central_client, headers, dr_prosumers=names), timeout=60, headers=headers)
    assert body["status"] == "SUCCESS", body
    sample_id = submit(sample_mode_client, AUTH, dr_prosumers=names)
    expected = wait_for(sample_mode_client, sample_id, timeout=60)
    assert expected["status"] == "SUCCESS", expected
    assert without_timings(body["result"]) == without_timings(expected["result"])
    assert fresh_eve.state.calls["curtailable_loads"] >= 7  # 14 x 24 documents, 50 per page


def test_job_on_the_real_export_succeeds(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    fresh_eve.state.docs = load_documents(require_shared(SHARED_EXPORT))
    headers = user_token(fresh_eve)
    names = sorted(d["name"] for d in fresh_eve.state.docs["dr_prosumers"])
    body = wait_for(central_client, submit(central_client, headers, dr_prosumers=names), timeout=60, headers=headers)
    assert body["status"] == "SUCCESS", body
    assert len(body["result"]["raw_data"]["USERS"]) == 30


def test_token_expiry_mid_job_is_refreshed(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    """The worker's token stops being accepted several times while the job reads its pages (after every three
    requests, not after a time that a loaded machine could outlast): each 401 brings a new token, the job succeeds."""
    fresh_eve.state.revoke_all_tokens()  # the worker must get a new token for this job
    headers = user_token(fresh_eve)  # (the caller's token is checked by /authorization/, which uses none up)
    fresh_eve.state.max_token_uses = 3
    names = [f"user_{k}_Medium" for k in range(1, 11)]
    body = wait_for(central_client, submit(central_client, headers, dr_prosumers=names), timeout=60, headers=headers)
    assert body["status"] == "SUCCESS", body
    assert fresh_eve.state.calls["oauth"] >= 3


def test_500_then_success_is_retried_in_a_job(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    headers = user_token(fresh_eve)
    fresh_eve.state.faults.append(Fault("load_entries", status=500, times=2))
    body = wait_for(central_client, submit(central_client, headers), timeout=60, headers=headers)
    assert body["status"] == "SUCCESS", body


def test_permanent_503_fails_the_job_clearly_and_the_next_job_runs(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    headers = user_token(fresh_eve)
    fresh_eve.state.faults.append(Fault("curtailable_loads", status=503, times=None))
    failed = wait_for(central_client, submit(central_client, headers), timeout=60, headers=headers)
    assert failed["status"] == "FAILURE"
    assert failed["error"] == "the central DB answered 503 to curtailable_loads 3 times; try again later"
    fresh_eve.state.faults.clear()
    assert wait_for(central_client, submit(central_client, headers), timeout=60, headers=headers)["status"] == "SUCCESS"


def test_a_page_that_times_out_is_retried_in_a_job(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    headers = user_token(fresh_eve)
    fresh_eve.state.faults.append(Fault("flex_request_data_points", delay=1.6, times=1))
    body = wait_for(central_client, submit(central_client, headers), timeout=60, headers=headers)
    assert body["status"] == "SUCCESS", body
    assert fresh_eve.state.calls["flex_request_data_points"] == 2


def test_unknown_prosumer_is_a_400_at_submit_time(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    response = central_client.post(
        "/pricing", json={**JOB, "dr_prosumers": ["user_1_High", "user_404_High"]}, headers=user_token(fresh_eve)
    )
    assert response.status_code == 400
    assert response.json()["field"] == "dr_prosumers[1]" and "user_404_High" in response.json()["detail"]
    response = central_client.post("/pricing", json={**JOB, "flex_request": "nope"}, headers=user_token(fresh_eve))
    assert response.status_code == 400 and response.json()["field"] == "flex_request"


def test_a_missing_hour_fails_the_job_naming_prosumer_and_slot(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    docs = copy.deepcopy(fresh_eve.state.docs)
    victim = next(d["_id"] for d in docs["dr_prosumers"] if d["name"] == "user_2_High")
    docs["curtailable_loads"] = [
        d
        for d in docs["curtailable_loads"]
        if not (d["prosumer_id"] == victim and d["timestamp"] == "2021-11-11T13:00:00Z")
    ]
    fresh_eve.state.docs = docs
    failed = wait_for(
        central_client, submit(central_client, user_token(fresh_eve)), timeout=60, headers=user_token(fresh_eve)
    )
    assert failed["status"] == "FAILURE"
    assert "user_2_High" in failed["error"] and "2021-11-11T13:00:00Z" in failed["error"]
