"""Chaos: a dataset survives restarts of the API, the workers and Redis between its upload and its job."""

from pathlib import Path

import httpx
import pytest

from BRTP.data.package import write_package
from BRTP.data.synthetic import synthetic_dataset
from tests.chaos.rig import PrivateRedis, wait_for_state, worker
from tests.jobs import AUTH
from tests.services import api_server

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


def test_a_dataset_survives_restarts_of_everything(
    chaos_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    package = tmp_path / "portfolio.zip"
    write_package(synthetic_dataset(25, seed=8), package, "parquet")
    with api_server(chaos_env, tmp_path / "api-1.log") as first, httpx.Client(base_url=first, timeout=30) as api:
        with package.open("rb") as handle:
            uploaded = api.post("/datasets", files={"file": ("portfolio.zip", handle)}, headers=AUTH)
        assert uploaded.status_code == 201, uploaded.text
        dataset = uploaded.json()
    private_redis.shut_down()  # the API is gone; now Redis restarts too
    private_redis.start()
    with (
        worker(chaos_env, tmp_path / "worker.log"),
        api_server(chaos_env, tmp_path / "api-2.log") as second,
        httpx.Client(base_url=second, timeout=30) as api,
    ):
        again = api.get(dataset["href"], headers=AUTH)
        assert again.status_code == 200 and again.json() == dataset
        body = {
            "start_datetime": dataset["first_slot"],
            "end_datetime": dataset["end"],
            "dr_prosumers": dataset["prosumers"][:5],
            "flex_request": dataset["flex_requests"][0],
            "profit_margin": 0.1,
            "gamma_values": [1],
            "dataset": dataset["dataset_id"],
        }
        submitted = api.post("/pricing", json=body, headers=AUTH)
        assert submitted.status_code == 201, submitted.text
        done = wait_for_state(api, submitted.json()["job_id"], 60)
    assert done["state"] == "succeeded", done
