"""Two real worker processes share one job's gamma values; the result equals one worker's."""

import pytest

from swagger_server.app import create_app
from tests.jobs import submit, wait_for, without_timings
from tests.services import celery_worker, make_settings, service_env

pytestmark = pytest.mark.integration
GAMMAS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0]  # with gamma 0: 11 values
NAMES = [f"user_{k}_{level}" for level in ("Low", "Medium", "High") for k in range(1, 101)]


def test_two_workers_solve_one_job_together(redis_url, service_sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    queue = "pricing-scale-out"
    env = service_env(redis_url, service_sample_dir, queue)
    client = create_app(make_settings(redis_url, service_sample_dir, queue)).test_client()
    with celery_worker(env, tmp_path / "a.log", name="scale-a"):
        single = wait_for(client, submit(client, dr_prosumers=NAMES, gamma_values=GAMMAS), timeout=120)
        assert single["status"] == "SUCCESS", single
        with celery_worker(env, tmp_path / "b.log", name="scale-b"):
            shared = wait_for(client, submit(client, dr_prosumers=NAMES, gamma_values=GAMMAS), timeout=120)
    assert shared["status"] == "SUCCESS", shared
    solvers = {entry["solved_by"].split("@")[0] for entry in shared["result"]["raw_data"]["SOLVER"]}
    assert solvers == {"scale-a", "scale-b"}, solvers
    assert {e["solved_by"].split("@")[0] for e in single["result"]["raw_data"]["SOLVER"]} == {"scale-a"}
    assert len(shared["result"]["raw_data"]["GAMMA"]) == 11
    assert without_timings(shared["result"]) == without_timings(single["result"])
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert logs.count("solve.done") >= 11
