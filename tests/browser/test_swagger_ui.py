"""Swagger UI renders, and a FlexGrid user's flow works in it: Authorize, Try it out, 201."""

import json
import logging

import httpx
import pytest

from tests.api.test_validation import AUTH, README_JOB
from tests.integration.jobs import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]
logger = logging.getLogger(__name__)


def test_swagger_ui_renders_every_operation(page, live_api: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_api}/ui/")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    paths = page.locator(".opblock-summary").all_inner_texts()
    text = "\n".join(paths)
    for method, path in [("POST", "/pricing"), ("GET", "/pricing/{job_id}"), ("DELETE", "/pricing/{job_id}")]:
        assert method in text and path in text, text
    shot = tmp_path / "swagger-ui.png"
    page.screenshot(path=str(shot), full_page=True)
    logger.info("screenshot: %s", shot)


def test_authorize_and_try_it_out_submits_a_job(page, live_api: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_api}/ui/")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    # Authorize with the password flow against the service's own token endpoint (sample-data mode).
    page.click("button.authorize")
    page.fill("#oauth_username", "analyst")
    page.fill("#oauth_password", "secret")
    page.locator(".auth-container .scopes label").first.click()
    page.click(".auth-btn-wrapper button.authorize")
    page.wait_for_selector("button.btn-done", timeout=10000)
    page.click("button.btn-done")
    # Try it out on POST /pricing with the README's job.
    operation = page.locator(".opblock-post").first
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("textarea.body-param__text").fill(
        json.dumps({k: v for k, v in README_JOB.items() if k != "callback"})
    )
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20000)
    assert status.inner_text().strip() == "201"
    body = json.loads(
        operation.locator(".live-responses-table tbody .response-col_description .microlight").first.inner_text()
    )
    client = httpx.Client(base_url=live_api, headers=AUTH, timeout=10)
    assert wait_for(client, body["job_id"])["status"] == "SUCCESS"
