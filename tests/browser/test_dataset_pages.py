"""Datasets in the pages, in a real browser: upload the workbook on /jobs, price it from its page, read the report."""

import pytest

from tests.documents import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.integration]
SAMPLE_WORKBOOK = REPO_ROOT / "docs" / "samples" / "portfolio.xlsx"


def test_upload_a_workbook_price_it_and_read_the_report(page, live_api: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_api}/jobs")
    page.fill("#token", "analyst-token")
    page.click("#login")
    page.wait_for_selector("#upload-form")
    page.set_input_files("#file", str(SAMPLE_WORKBOOK))
    page.fill("#dataset_name", "my workbook")
    page.click("#upload")
    page.wait_for_url("**/page")
    assert page.locator("#dataset-name").inner_text() == "my workbook"
    dataset_id = page.url.split("/")[-2]
    summary = page.request.get(f"{live_api}/datasets/{dataset_id}").json()  # the same session
    assert page.locator("#n-prosumers").inner_text() == str(len(summary["prosumers"]))
    page.wait_for_function("() => document.getElementById('load-plot').complete")
    assert page.eval_on_selector("#load-plot", "img => img.naturalWidth") == 800

    chosen = summary["prosumers"][:3]
    page.select_option("#dr_prosumers", chosen)
    page.select_option("#flex_request", summary["flex_requests"][0])
    page.fill("#gamma_values", "0.5")
    page.click("#submit")
    page.wait_for_url("**/report")
    page.wait_for_selector("#status.succeeded", timeout=60000)
    assert page.locator("#kpis tbody tr").count() == 2  # gamma 0 and 0.5
    job = page.request.get(f"{live_api}/pricing/{page.url.split('/')[-2]}").json()
    assert job["request"]["dataset"] == dataset_id and job["request"]["dr_prosumers"] == chosen

    page.goto(f"{live_api}/jobs")  # the dataset is listed, and offered in the submit form
    assert "my workbook" in page.locator("#datasets").inner_text()
    assert page.locator(f"#dataset option[value='{dataset_id}']").count() == 1


def test_a_bad_upload_is_explained_on_the_page(page, live_api: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("not a portfolio")
    page.goto(f"{live_api}/jobs")
    page.fill("#token", "analyst-token")
    page.click("#login")
    page.wait_for_selector("#upload-form")
    page.set_input_files("#file", str(tmp_path / "notes.txt"))
    page.click("#upload")
    page.wait_for_selector("#upload-error")
    assert "upload a FlexGrid workbook (.xlsx)" in page.locator("#upload-error").inner_text()
