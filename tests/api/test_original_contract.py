"""Clients built from the original contract work unchanged.

Every answer of a job's lifecycle -- submit; poll while queued and running;
success with and without a callback; a data failure; a cancel; an unknown id --
is validated with openapi-core against the FlexGrid original's contract
(``../shared/fixtures/original-pricing.yml``) and against ours. Then a Python
client generated from the original contract (openapi-python-client, at test
time) drives the same lifecycle against a real API server and worker.
"""

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from swagger_server.app import create_app
from tests.documents import REPO_ROOT, require_shared
from tests.fakes.receiver import Receiver
from tests.jobs import AUTH, README_JOB, long_job_changes, submit, wait_for
from tests.services import api_server, make_settings, service_env

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

ORIGINAL = REPO_ROOT.parent / "shared" / "fixtures" / "original-pricing.yml"
OURS = REPO_ROOT / "swagger" / "pricing.yml"
ORIGINAL_HOST = "https://pricing-api.flexgrid-project.eu"
#: Operations of the original contract; answers to other (our extension) operations are checked against ours only.
ORIGINAL_OPERATIONS = {("post", "/pricing"), ("get", "/pricing/{job_id}")}


class Contracts:
    """Both contracts, ready to validate a response."""

    def __init__(self) -> None:
        if not ORIGINAL.is_file():
            pytest.skip(f"the original contract is absent at {ORIGINAL}")
        # openapi-core reads application/json itself; problem+json is JSON too
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        self.original = OpenAPI.from_file_path(str(ORIGINAL), config=config)
        ours = yaml.safe_load(OURS.read_text())
        ours["info"]["version"] = "test"
        self.ours = OpenAPI.from_dict(ours, config=config)
        self.checked: list[str] = []

    def check(self, method: str, path: str, template: str, response: Any, body: object = None) -> dict[str, Any]:
        """Validate one answer against ours and, for the original's operations, against the original."""
        content_type = response.headers["content-type"].split(";")[0]
        data = json.dumps(body).encode() if body is not None else None
        answer = MockResponse(response.content, status_code=response.status_code, content_type=content_type)
        self.ours.validate_response(
            MockRequest("http://localhost", method, path, data=data, content_type="application/json"), answer
        )
        if (method, template) in ORIGINAL_OPERATIONS:
            request = MockRequest(ORIGINAL_HOST, method, path, data=data, content_type="application/json")
            self.original.validate_response(request, answer)
        self.checked.append(f"{method.upper()} {template} {response.status_code}")
        result: dict[str, Any] = response.json()
        return result

    def poll(self, client, job_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return self.check(
            "get", f"/pricing/{job_id}", "/pricing/{job_id}", client.get(f"/pricing/{job_id}", headers=AUTH)
        )


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return Contracts()


def test_every_answer_of_a_lifecycle_validates_against_both_contracts(
    contracts: Contracts, client, redis_url: str, service_sample_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    body = {k: v for k, v in README_JOB.items() if k != "callback"}
    # queued: an app whose queue no worker reads
    idle = create_app(make_settings(redis_url, service_sample_dir, f"nobody-{uuid.uuid4().hex[:6]}")).test_client()
    queued_id = contracts.check("post", "/pricing", "/pricing", idle.post("/pricing", json=body, headers=AUTH), body)[
        "job_id"
    ]
    queued = contracts.poll(idle, queued_id)
    assert queued["status"] == "PENDING" and queued["state"] == "queued" and "date_done" not in queued
    # a cancel
    contracts.check(
        "delete", f"/pricing/{queued_id}", "/pricing/{job_id}", idle.delete(f"/pricing/{queued_id}", headers=AUTH)
    )
    cancelled = contracts.poll(idle, queued_id)
    assert cancelled["status"] == "FAILURE" and cancelled["state"] == "cancelled" and "cancelled" in cancelled["error"]
    # running, then success without a callback
    long_id = submit(client, **long_job_changes(300))
    wait_for(client, long_id, states=("running",), timeout=60)
    running = contracts.poll(client, long_id)
    assert running["status"] == "PENDING" and running["state"] in ("running", "succeeded")
    wait_for(client, long_id, timeout=120)
    done = contracts.poll(client, long_id)
    assert done["status"] == "SUCCESS" and "callback_result" not in done["result"] and done["date_done"]
    # success with a callback (delivered, so callback_result is a string)
    with Receiver() as receiver:
        job_id = submit(client, callback={"url": receiver.url(), "headers": {"X-Client": "flexgrid"}})
        wait_for(client, job_id, states=("succeeded",), predicate=lambda b: "callback_result" in b["result"])
        delivered = contracts.poll(client, job_id)
    assert delivered["result"]["callback_result"].startswith("status: 200")
    # a data failure (the sample data covers 2021-11-11 only)
    failed_id = submit(client, start_datetime="2021-11-12T00:00:00Z", end_datetime="2021-11-13T00:00:00Z")
    wait_for(client, failed_id)
    failed = contracts.poll(client, failed_id)
    assert failed["status"] == "FAILURE" and failed["state"] == "failed" and "curtailable-load slots" in failed["error"]
    # an unknown id
    unknown = client.get("/pricing/no-such-job", headers=AUTH)
    assert unknown.status_code == 400 and unknown.json()["field"] == "job_id"
    contracts.check("get", "/pricing/no-such-job", "/pricing/{job_id}", unknown)
    # the job list uses the same status and state
    listed = client.get("/pricing?status=running&limit=5", headers=AUTH)
    contracts.check("get", "/pricing", "/pricing", listed)
    assert len(contracts.checked) == 10  # every answer above went through both checks


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Python client package generated from the original contract (openapi-python-client), importable."""
    require_shared(ORIGINAL)
    folder = tmp_path_factory.mktemp("generated")
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(ORIGINAL), "--meta", "none",
         "--output-path", str(folder / "flexgrid_pricing_client")],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("flexgrid_pricing_client")
    finally:
        sys.path.remove(str(folder))


def test_a_client_generated_from_the_original_contract_drives_a_lifecycle(
    generated_client: Any, redis_url: str, service_sample_dir: Path, queue_name: str, tmp_path: Path
) -> None:
    from flexgrid_pricing_client.api.pricing_ucs_4_2 import pricing_get, pricing_post
    from flexgrid_pricing_client.models import JobSubmitted, PricingJobResult, PricingParams
    from flexgrid_pricing_client.models.pricing_job_result_status import PricingJobResultStatus

    env = service_env(redis_url, service_sample_dir, queue_name, VALIDATE_RESPONSES="1")
    with api_server(env, tmp_path / "api.log") as base:
        api = generated_client.AuthenticatedClient(base_url=base, token="any-token", raise_on_unexpected_status=True)
        body = {k: v for k, v in README_JOB.items() if k != "callback"}

        def job(**changes: Any) -> str:
            fields = {
                k: v for k, v in {**body, **changes}.items() if v is not None
            }  # the original has no null callback
            submitted = pricing_post.sync(client=api, body=PricingParams.from_dict(fields))
            assert isinstance(submitted, JobSubmitted)
            return submitted.job_id

        def poll(job_id: str, until: tuple[PricingJobResultStatus, ...]) -> PricingJobResult:
            return wait_until_status(lambda: pricing_get.sync(job_id, client=api), until)

        seen: set[str] = set()
        long_id = job(**long_job_changes(300))
        running = poll(long_id, (PricingJobResultStatus.PENDING, PricingJobResultStatus.SUCCESS))
        seen.add(running.status.value)
        result = poll(long_id, (PricingJobResultStatus.SUCCESS,))
        data = result.result
        assert data is not None
        assert len(data.raw_data.auw_brtp) == 50 and len(data.plots.uw_bar) == 50  # gamma 0 is among the 50
        assert data.plots.auw_vs_gamma.serries[0].xvalues[0] == 0
        assert data.raw_data.additional_properties["GAMMA"][0] == 0.0  # our additions arrive as extra properties
        failed = poll(job(start_datetime="2021-11-12T00:00:00Z", end_datetime="2021-11-13T00:00:00Z"),
                      (PricingJobResultStatus.FAILURE,))  # fmt: skip
        assert failed.error and "curtailable-load slots" in failed.error
        seen |= {result.status.value, failed.status.value}
        assert {"PENDING", "SUCCESS", "FAILURE"} >= seen >= {"SUCCESS", "FAILURE"}
        unknown = pricing_get.sync_detailed("no-such-job", client=api)
        assert unknown.status_code == 400 and unknown.parsed is None  # declared, no body schema: no crash


def wait_until_status(get: Any, until: tuple[Any, ...], timeout: float = 120) -> Any:
    """Poll with the generated client until the typed status is one of ``until`` (parsing every answer)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get()
        if answer.status in until:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"still {answer.status} after {timeout} s")
