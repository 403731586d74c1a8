"""A job store that does not answer is a 503 the client can retry, never a 500."""

from pathlib import Path

from swagger_server.app import create_app
from swagger_server.embedded import free_port
from tests.jobs import AUTH, README_JOB
from tests.services import make_settings


def test_submit_and_poll_with_redis_down_are_503(service_sample_dir: Path) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = create_app(make_settings(nobody, service_sample_dir, "outage")).test_client()
    body = {k: v for k, v in README_JOB.items() if k != "callback"}
    for answer in (client.post("/pricing", json=body, headers=AUTH), client.get("/pricing/some-id", headers=AUTH)):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"] == "5" and "job store is unavailable" in answer.json()["detail"]
