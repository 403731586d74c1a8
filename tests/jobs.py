"""The README's job and helpers to submit jobs and wait for them through an HTTP client."""

import time
from typing import Any

AUTH = {"Authorization": "Bearer any-token"}
README_JOB: dict[str, Any] = {
    "start_datetime": "2021-11-11T00:00:00Z",
    "end_datetime": "2021-11-12T00:00:00Z",
    "dr_prosumers": ["user_1_High", "user_2_High"],
    "flex_request": "flex_request_1_High",
    "profit_margin": 34.4,
    "gamma_values": [0, 1.0],
    "callback": {"url": "http://localhost:9000/pricing", "headers": {"Authorization": "Bearer abc"}},
}

FINISHED = ("succeeded", "failed", "cancelled")


def submit(client, **changes: Any) -> str:  # type: ignore[no-untyped-def]
    """POST a job (the README's, without its callback unless given, with changes) and return its id."""
    changes.setdefault("callback", None)
    body = {k: v for k, v in {**README_JOB, **changes}.items() if v is not None}
    response = client.post("/pricing", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["job_id"])


def wait_for(client, job_id: str, states=FINISHED, timeout: float = 90, predicate=None, headers=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Poll GET /pricing/{job_id} until its ``state`` is in ``states`` (and ``predicate`` holds)."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/pricing/{job_id}", headers=headers or AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in states and (predicate is None or predicate(body)):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {body.get('state')} after {timeout} s: {body}")


def long_job_changes(n_users: int = 600) -> dict[str, Any]:
    """A job that takes several seconds: many users and 50 gamma values."""
    names = [f"user_{k}_{level}" for level in ("Low", "Medium", "High") for k in range(1, n_users // 3 + 1)]
    return {"dr_prosumers": names, "gamma_values": [0.1 * g for g in range(50)], "callback": None}


def without_timings(result: dict) -> dict:  # type: ignore[type-arg]
    """The result without solver timings and worker names, which differ from run to run."""
    raw = {k: v for k, v in result["raw_data"].items() if k != "SOLVER"}
    return {"plots": result["plots"], "raw_data": raw, "warnings": result["warnings"]}
