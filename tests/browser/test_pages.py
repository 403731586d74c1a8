"""People's pages in a real browser: log in, submit through the form, read the report, download CSV."""

import csv
import io
import logging
import uuid

import pytest

from swagger_server.app import create_app
from swagger_server.core.job_store import JobStore
from tests.jobs import submit
from tests.services import make_settings

pytestmark = [pytest.mark.browser, pytest.mark.integration]
logger = logging.getLogger(__name__)
PROSUMERS = ["user_1_High", "user_2_High", "user_3_Medium", "user_4_Low"]


def test_submit_through_the_form_and_read_the_report(page, live_api: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_api}/jobs")
    assert "/login" in page.url  # the token is given once
    page.fill("#token", "analyst-token")
    page.click("#login")
    page.wait_for_selector("#submit-form")
    page.select_option("#dr_prosumers", PROSUMERS)
    page.select_option("#flex_request", "flex_request_1_High")
    page.fill("#profit_margin", "0.25")
    page.fill("#gamma_values", "0.5, 2")
    page.click("#submit")
    page.wait_for_url("**/report")
    page.wait_for_selector("#status.succeeded", timeout=60000)  # the report refreshes itself until done
    job_id = page.url.split("/")[-2]

    rows = page.locator("#kpis tbody tr")
    assert rows.count() == 3  # gamma 0 is added first
    assert page.locator("#welfare tbody tr").count() == len(PROSUMERS)
    images = page.locator(".plots img")
    assert images.count() == 3 + 2 * 3
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    widths = page.eval_on_selector_all(".plots img", "imgs => imgs.map(i => i.naturalWidth)")
    assert all(w == 800 for w in widths), widths

    job = page.request.get(f"{live_api}/pricing/{job_id}").json()  # same session cookie
    assert sorted(job["request"]["dr_prosumers"]) == sorted(PROSUMERS) and job["request"]["gamma_values"] == [0.5, 2.0]
    with page.expect_download() as download:
        page.click("#raw-csv")
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    raw = job["result"]["raw_data"]
    assert [float(r["gamma"]) for r in table] == raw["GAMMA"] == [0.0, 0.5, 2.0]
    for index, row in enumerate(table):
        for column, key in [
            ("AUW", "AUW_BRTP"),
            ("TC", "TC_BRTP"),
            ("FLEX_R", "FLEX_R"),
            ("DSO_REVENUE", "DSO_REVENUE"),
        ]:
            assert float(row[column]) == pytest.approx(raw[key][index], rel=1e-12)

    report_shot = tmp_path / "report.png"
    page.screenshot(path=str(report_shot), full_page=True)
    page.goto(f"{live_api}/jobs")
    assert job_id[:8] in page.locator("#jobs").inner_text()
    list_shot = tmp_path / "jobs.png"
    page.screenshot(path=str(list_shot), full_page=True)
    logger.info("screenshots: %s %s", report_shot, list_shot)


def log_in(page, live_api: str, target: str = "/jobs") -> None:  # type: ignore[no-untyped-def]
    """Give a token once on the login page, then land on ``target``."""
    page.goto(f"{live_api}/login?next={target}")
    page.fill("#token", "t")
    page.click("#login")


def test_form_errors_are_shown_on_the_page(page, live_api: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_api)
    page.select_option("#dr_prosumers", ["user_1_High"])
    page.fill("#end_datetime", "2021-11-10T00:00:00Z")
    page.click("#submit")
    assert "end_datetime: end_datetime must be after start_datetime" in page.locator("#form-error").inner_text()


def test_failed_job_report_shows_the_error(page, live_api: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_api)
    page.select_option("#dr_prosumers", ["user_1_High"])
    page.fill("#start_datetime", "2021-11-12T00:00:00Z")
    page.fill("#end_datetime", "2021-11-13T00:00:00Z")
    page.click("#submit")
    page.wait_for_selector("#status.failed", timeout=60000)
    assert "user_1_High" in page.locator("#error").inner_text()


def test_pages_and_data_need_the_token(page, live_api: str) -> None:  # type: ignore[no-untyped-def]
    response = page.request.get(f"{live_api}/pricing?limit=1")
    assert response.status == 401
    page.goto(f"{live_api}/pricing/some-job/report")
    assert "/login" in page.url


def test_reports_poll_while_running(page, live_api: str, redis_url: str, service_sample_dir) -> None:  # type: ignore[no-untyped-def]
    """A job on a queue no worker reads stays queued: its report refreshes itself, and shows the job's end
    (written to the store by the test, as a worker would) without the test reloading it."""
    queue = f"pricing-idle-{uuid.uuid4().hex[:8]}"
    idle = create_app(make_settings(redis_url, service_sample_dir, queue)).test_client()
    job_id = submit(idle)
    log_in(page, live_api, f"/pricing/{job_id}/report")
    page.wait_for_selector("#status.queued")
    assert page.locator("meta[http-equiv=refresh]").count() == 1
    assert JobStore.from_url(redis_url, retention_days=1).mark_failure(job_id, "stopped by the test")
    page.wait_for_selector("#status.failed", timeout=30000)  # the page reloaded itself
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert "stopped by the test" in page.locator("#error").inner_text()
