"""Plot images and CSV files of finished jobs, through the API."""

import csv
import io

import pytest
from PIL import Image

from tests.jobs import AUTH, submit, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
NAMES = ["AUW_vs_GAMMA", "FLEX_REVENUES", "FLEX_QUANTITY", "FINAL_ECC_0", "FINAL_ECC_2", "UW_BAR_1"]


def finished(client, **changes) -> str:  # type: ignore[no-untyped-def]
    job_id = submit(client, gamma_values=[1.0, 3.0], **changes)
    assert wait_for(client, job_id)["status"] == "SUCCESS"
    return job_id


def test_every_plot_is_a_png_of_the_expected_size_and_cached(client, redis_url) -> None:  # type: ignore[no-untyped-def]
    import redis

    job_id = finished(client)
    for name in NAMES:
        response = client.get(f"/pricing/{job_id}/plots/{name}.png", headers=AUTH)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        image.verify()
        assert Image.open(io.BytesIO(response.content)).size == (800, 450)
        assert client.get(f"/pricing/{job_id}/plots/{name}.png", headers=AUTH).content == response.content
    cached = redis.Redis.from_url(redis_url).keys(f"pricing:image:{job_id}:*")
    assert len(cached) == len(NAMES)


def test_images_differ_between_jobs_with_different_results(client) -> None:  # type: ignore[no-untyped-def]
    first = finished(client, profit_margin=0.1)
    second = finished(client, profit_margin=2.0, dr_prosumers=["user_3_Low", "user_4_Medium", "user_5_High"])
    results = [client.get(f"/pricing/{j}", headers=AUTH).json()["result"]["raw_data"] for j in (first, second)]
    assert results[0]["FINALCONS"] != results[1]["FINALCONS"] and results[0]["AUW_BRTP"] != results[1]["AUW_BRTP"]
    for name in ("AUW_vs_GAMMA", "FINAL_ECC_1", "UW_BAR_2"):
        a = client.get(f"/pricing/{first}/plots/{name}.png", headers=AUTH).content
        b = client.get(f"/pricing/{second}/plots/{name}.png", headers=AUTH).content
        assert a != b, name


def test_unknown_plot_and_unfinished_job_are_problems(client) -> None:  # type: ignore[no-untyped-def]
    job_id = finished(client)
    missing = client.get(f"/pricing/{job_id}/plots/UW_BAR_7.png", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["field"] == "name"
    bad = client.get(f"/pricing/{job_id}/plots/anything.png", headers=AUTH)
    assert bad.status_code == 400 and bad.json()["field"] == "name"
    failed = submit(client, start_datetime="2021-11-12T00:00:00Z", end_datetime="2021-11-13T00:00:00Z")
    wait_for(client, failed)
    conflict = client.get(f"/pricing/{failed}/raw_data.csv", headers=AUTH)
    assert conflict.status_code == 409 and "is failed" in conflict.json()["detail"]
    assert client.get(f"/pricing/{job_id}/raw_data.csv").status_code == 401


def test_csv_files_match_the_json_result(client) -> None:  # type: ignore[no-untyped-def]
    job_id = finished(client)
    raw = client.get(f"/pricing/{job_id}", headers=AUTH).json()["result"]["raw_data"]
    kpis = list(csv.DictReader(io.StringIO(client.get(f"/pricing/{job_id}/raw_data.csv", headers=AUTH).text)))
    assert [float(row["gamma"]) for row in kpis] == raw["GAMMA"]
    assert [float(row["BB"]) for row in kpis] == raw["BB_BRTP"]
    assert float(kpis[0]["AUW_ratio"]) == 1.0
    consumption = list(csv.reader(io.StringIO(client.get(f"/pricing/{job_id}/consumption.csv", headers=AUTH).text)))
    assert consumption[0] == [
        "slot",
        "initial_ecc_kw",
        "final_ecc_kw_gamma_0",
        "final_ecc_kw_gamma_1",
        "final_ecc_kw_gamma_3",
    ]
    assert len(consumption) == 25 and consumption[1][0] == "2021-11-11T00:00:00Z"
    assert [float(r[1]) for r in consumption[1:]] == raw["INITIAL_ECC"]
    assert [float(r[3]) for r in consumption[1:]] == raw["FINALCONS"][1]
