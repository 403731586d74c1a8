"""Datasets in the service: upload once (the BRTP importers), price by id with a real worker, delete, refuse bad uploads."""

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

from BRTP.data.package import write_package
from BRTP.data.synthetic import synthetic_dataset
from swagger_server.app import create_app
from swagger_server.core.datasets import ALL_INDEX
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobRecord, JobRequest, JobState, utc_now
from tests.documents import REPO_ROOT, require_shared
from tests.jobs import AUTH, wait_for
from tests.services import make_settings

pytestmark = pytest.mark.integration

WORKBOOK = REPO_ROOT.parent / "shared" / "fixtures" / "BRTP Input.xlsx"


@pytest.fixture(scope="module")
def portfolio_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 40-prosumer portfolio as a tidy CSV package and a tidy Parquet package, each one .zip."""
    folder = tmp_path_factory.mktemp("uploads")
    dataset = synthetic_dataset(40, seed=3)
    files = {}
    for file_format in ("csv", "parquet"):
        files[file_format] = folder / f"portfolio-{file_format}.zip"
        write_package(dataset, files[file_format], file_format)  # type: ignore[arg-type]
    return files


def upload(client, path: Path, name: str | None = None, headers: dict[str, str] | None = None, **fields: str):  # type: ignore[no-untyped-def]
    data = {"name": name} if name else {}
    data |= fields
    with path.open("rb") as handle:
        return client.post("/datasets", files={"file": (path.name, handle)}, data=data, headers=headers or AUTH)


def brtp_run(
    path: Path, flex_request: str, prosumers: list[str], gammas: list[float], margin: float, out: Path
) -> dict[str, Any]:
    """What ``brtp run`` writes for the same file and job."""
    command = [sys.executable, "-m", "BRTP", "run", str(path), "--flex-request", flex_request, "--gammas",
               ",".join(map(str, gammas)), "--margin", str(margin), "--out", str(out), "--prosumers", ",".join(prosumers)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, env=os.environ | {"PYTHONPATH": "."})
    return dict(json.loads((out / "result.json").read_text()))


def assert_same_numbers(service: dict[str, Any], local: dict[str, Any]) -> None:
    """Every KPI of the service's result equals brtp run's, to 1e-9 relative (timings and worker names aside)."""
    assert service["raw_data"]["USERS"] == local["raw_data"]["USERS"]
    for key, value in local["raw_data"].items():
        if key == "SOLVER":
            continue
        if key in ("USERS", "SLOTS"):
            assert service["raw_data"][key] == value, key
        else:
            np.testing.assert_allclose(np.array(service["raw_data"][key], dtype=float), np.array(value, dtype=float),
                                       rtol=1e-9, atol=1e-9, err_msg=key)  # fmt: skip
    assert service["warnings"] == local["warnings"]


def price(
    client, dataset: dict[str, Any], prosumers: list[str], headers: dict[str, str] | None = None
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {
        "start_datetime": dataset["first_slot"],
        "end_datetime": dataset["end"],
        "dr_prosumers": prosumers,
        "flex_request": dataset["flex_requests"][0],
        "profit_margin": 0.2,
        "gamma_values": [0.5, 1.5],
        "dataset": dataset["dataset_id"],
    }
    response = client.post("/pricing", json=body, headers=headers or AUTH)
    assert response.status_code == 201, response.text
    return dict(wait_for(client, response.json()["job_id"], timeout=120, headers=headers))


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_tidy_package_is_priced_by_id_as_brtp_run_prices_the_file(
    file_format: str, client, worker, redis_url: str, portfolio_files: dict[str, Path], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = portfolio_files[file_format]
    response = upload(client, path, name=f"portfolio {file_format}")
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert response.headers["Location"] == f"/datasets/{dataset['dataset_id']}" == dataset["href"]
    assert dataset["source_format"] == "tidy package" and dataset["counts"]["prosumers"] == 40
    assert (dataset["first_slot"], dataset["last_slot"], dataset["end"], dataset["slot_hours"]) == (
        "2021-11-11T00:00:00Z",
        "2021-11-11T23:00:00Z",
        "2021-11-12T00:00:00Z",
        1.0,
    )
    assert client.get(dataset["href"], headers=AUTH).json()["prosumers"] == dataset["prosumers"]
    listed = client.get("/datasets?limit=200", headers=AUTH).json()["items"]
    assert dataset["dataset_id"] in [d["dataset_id"] for d in listed] and "prosumers" not in listed[0]

    prosumers = dataset["prosumers"][::3]
    job = price(client, dataset, prosumers)
    assert job["state"] == "succeeded", job
    assert job["request"]["dataset"] == dataset["dataset_id"]
    local = brtp_run(path, dataset["flex_requests"][0], prosumers, [0.5, 1.5], 0.2, tmp_path / "out")
    assert_same_numbers(job["result"], local)

    # Deleting the dataset removes all of its data; the job keeps its result.
    assert client.delete(dataset["href"], headers=AUTH).status_code == 204
    assert client.get(dataset["href"], headers=AUTH).status_code == 404
    assert client.get(f"/pricing/{job['job_id']}", headers=AUTH).json()["result"] == job["result"]
    keys = redis.Redis.from_url(redis_url).keys(f"pricing:dataset:{dataset['dataset_id']}*")
    assert keys == []


def test_the_flexgrid_workbook_is_priced_as_brtp_run_prices_it(client, worker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workbook = require_shared(WORKBOOK)
    response = upload(client, workbook, start_datetime="2021-11-11T00:00:00Z")
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["source_format"] == "workbook" and dataset["name"] == "BRTP Input"
    job = price(client, dataset, dataset["prosumers"])
    assert job["state"] == "succeeded", job
    local = brtp_run(workbook, dataset["flex_requests"][0], dataset["prosumers"], [0.5, 1.5], 0.2, tmp_path / "out")
    assert_same_numbers(job["result"], local)


def test_a_job_is_checked_against_its_dataset_at_submit(client, portfolio_files: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    dataset = upload(client, portfolio_files["csv"]).json()
    body = {
        "start_datetime": dataset["first_slot"],
        "end_datetime": dataset["end"],
        "dr_prosumers": [dataset["prosumers"][0], "nobody"],
        "flex_request": dataset["flex_requests"][0],
        "gamma_values": [1],
        "profit_margin": 0,
        "dataset": dataset["dataset_id"],
    }
    answer = client.post("/pricing", json=body, headers=AUTH)
    assert (
        answer.status_code == 400
        and answer.json()["field"] == "dr_prosumers[1]"
        and "nobody" in answer.json()["detail"]
    )
    answer = client.post(
        "/pricing", json=body | {"dr_prosumers": dataset["prosumers"][:1], "flex_request": "x"}, headers=AUTH
    )
    assert answer.status_code == 400 and answer.json()["field"] == "flex_request"
    late = {"start_datetime": "2030-01-01T00:00:00Z", "end_datetime": "2030-01-02T00:00:00Z"}
    answer = client.post("/pricing", json=body | {"dr_prosumers": dataset["prosumers"][:1]} | late, headers=AUTH)
    assert answer.status_code == 400 and "outside the data" in answer.json()["detail"]
    answer = client.post("/pricing", json=body | {"dataset": "no-such-dataset"}, headers=AUTH)
    assert answer.status_code == 400 and answer.json()["field"] == "dataset"


def test_a_dataset_used_by_a_queued_job_cannot_be_deleted(
    client, redis_url: str, portfolio_files: dict[str, Path]
) -> None:  # type: ignore[no-untyped-def]
    dataset = upload(client, portfolio_files["csv"]).json()
    store = JobStore.from_url(redis_url, retention_days=1)
    request = JobRequest.from_json(
        {"start_datetime": dataset["first_slot"], "end_datetime": dataset["end"], "dr_prosumers": dataset["prosumers"][:2],
         "flex_request": dataset["flex_requests"][0], "profit_margin": 0, "gamma_values": [1], "dataset": dataset["dataset_id"]}
    )  # fmt: skip
    record = JobRecord(
        job_id=f"queued-{dataset['dataset_id']}", state=JobState.QUEUED, request=request, submitted_at=utc_now()
    )
    store.datasets.use(dataset["dataset_id"], record.job_id)
    store.create(record)
    refused = client.delete(dataset["href"], headers=AUTH)
    assert refused.status_code == 409 and record.job_id in refused.json()["detail"]
    store.mark_failure(record.job_id, "stopped by the test")
    assert client.delete(dataset["href"], headers=AUTH).status_code == 204


def leftovers() -> list[str]:
    return [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("pricing-upload-")]


def zip_of(members: dict[str, bytes], path: Path, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_bad_uploads_get_their_4xx_and_leave_nothing_behind(
    client, redis_url: str, portfolio_files: dict[str, Path], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    counted = redis.Redis.from_url(redis_url)
    before = counted.zcard(ALL_INDEX)
    (tmp_path / "notes.txt").write_text("hello")
    answer = upload(client, tmp_path / "notes.txt")
    assert answer.status_code == 415 and answer.json()["field"] == "file"

    (tmp_path / "fake.xlsx").write_bytes(b"this is not a workbook")
    answer = upload(client, tmp_path / "fake.xlsx")
    assert answer.status_code == 400 and answer.json()["detail"].startswith("fake.xlsx: ")

    # A bad value: the message names the table's file, the row and the column.
    with zipfile.ZipFile(portfolio_files["csv"]) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    lines = members["consumption.csv"].decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("desired_kw")] = "lots"
    lines[3] = ",".join(row)
    bad = zip_of(members | {"consumption.csv": "\n".join(lines).encode()}, tmp_path / "bad-value.zip")
    answer = upload(client, bad)
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "consumption.csv" in detail and "row 4" in detail and "desired_kw" in detail, detail

    answer = upload(client, zip_of({"tables/../../etc/passwd": b"x", "prosumers.csv": b"name\n"}, tmp_path / "t.zip"))
    assert answer.status_code == 400 and "unsafe path" in answer.json()["detail"]

    bomb = zip_of({"consumption.csv": b"0" * 50_000_000}, tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 200_000
    answer = upload(client, bomb)
    assert answer.status_code == 400 and "zip bomb" in answer.json()["detail"]

    def endless() -> Iterator[bytes]:  # 300 MB announced: refused by its Content-Length, nothing read
        for _ in range(300):
            yield b"\0" * 1_000_000

    answer = client.post(
        "/datasets",
        content=endless(),
        headers=AUTH | {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(300_000_000)},
    )
    assert answer.status_code == 413 and "200000000" in answer.json()["detail"]
    assert counted.zcard(ALL_INDEX) == before
    assert leftovers() == []


def test_each_caller_sees_only_their_own_datasets(
    redis_url: str, service_sample_dir: Path, queue_name: str, portfolio_files: dict[str, Path]
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        redis_url, service_sample_dir, queue_name, api_tokens="alice-token,bob-token", single_tenant=False
    )
    client = create_app(settings).test_client()
    alice, bob = ({"Authorization": f"Bearer {who}-token"} for who in ("alice", "bob"))
    dataset = upload(client, portfolio_files["parquet"], headers=alice).json()
    assert client.get(dataset["href"], headers=alice).status_code == 200
    assert client.get(dataset["href"], headers=bob).status_code == 404
    assert client.get(f"{dataset['href']}/download", headers=bob).status_code == 404
    assert client.delete(dataset["href"], headers=bob).status_code == 404
    assert dataset["dataset_id"] not in [d["dataset_id"] for d in client.get("/datasets", headers=bob).json()["items"]]
    body = {"start_datetime": dataset["first_slot"], "end_datetime": dataset["end"], "dr_prosumers": dataset["prosumers"][:1],
            "flex_request": dataset["flex_requests"][0], "gamma_values": [1], "profit_margin": 0, "dataset": dataset["dataset_id"]}  # fmt: skip
    answer = client.post("/pricing", json=body, headers=bob)
    assert answer.status_code == 400 and answer.json()["field"] == "dataset"
    assert client.delete(dataset["href"], headers=alice).status_code == 204


def test_the_download_is_the_tidy_package_of_the_stored_dataset(
    client, portfolio_files: dict[str, Path], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dataset = upload(client, portfolio_files["csv"]).json()
    answer = client.get(f"{dataset['href']}/download", headers=AUTH)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    (tmp_path / "again.zip").write_bytes(answer.content)
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert "datapackage.json" in archive.namelist() and "consumption.parquet" in archive.namelist()
    again = upload(client, tmp_path / "again.zip").json()  # what we serve reads back as the same data
    assert {k: again[k] for k in ("prosumers", "flex_requests", "first_slot", "end", "counts")} == {
        k: dataset[k] for k in ("prosumers", "flex_requests", "first_slot", "end", "counts")
    }


def test_each_caller_sees_only_their_own_jobs(redis_url: str, service_sample_dir: Path, queue_name: str) -> None:
    """With SINGLE_TENANT=0 another caller's job answers as an unknown one, in every operation, and in lists."""
    settings = make_settings(
        redis_url, service_sample_dir, queue_name, api_tokens="carol-token,dave-token", single_tenant=False
    )
    client = create_app(settings).test_client()
    carol, dave = ({"Authorization": f"Bearer {who}-token"} for who in ("carol", "dave"))
    body = {"start_datetime": "2021-11-11T00:00:00Z", "end_datetime": "2021-11-12T00:00:00Z",
            "dr_prosumers": ["user_1_High"], "flex_request": "flex_request_1_High", "profit_margin": 0, "gamma_values": [1]}  # fmt: skip
    submitted = client.post("/pricing", json=body, headers=carol | {"Idempotency-Key": "shared-key"})
    job_id = submitted.json()["job_id"]
    assert client.get(f"/pricing/{job_id}", headers=carol).status_code == 200
    assert client.get(f"/pricing/{job_id}", headers=dave).status_code == 400  # as an unknown id (the original's 400)
    assert client.delete(f"/pricing/{job_id}", headers=dave).status_code == 404
    assert client.get(f"/pricing/{job_id}/raw_data.csv", headers=dave).status_code == 404
    assert job_id in [j["job_id"] for j in client.get("/pricing?limit=200", headers=carol).json()["items"]]
    assert job_id not in [j["job_id"] for j in client.get("/pricing?limit=200", headers=dave).json()["items"]]
    assert job_id not in [
        j["job_id"] for j in client.get("/pricing?status=queued&limit=200", headers=dave).json()["items"]
    ]
    # The same Idempotency-Key from another caller is another job.
    again = client.post("/pricing", json=body, headers=dave | {"Idempotency-Key": "shared-key"})
    assert again.status_code == 201 and again.json()["job_id"] != job_id
    assert client.delete(f"/pricing/{job_id}", headers=carol).status_code in (200, 409)  # cancelled, or done already
