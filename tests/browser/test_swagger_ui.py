"""Swagger UI renders, and a FlexGrid user's flow works in it: Authorize, Try it out, 201."""

import logging

import httpx
import pytest

from tests.browser.swagger import authorize, open_swagger_ui, try_post_pricing
from tests.jobs import AUTH, README_JOB, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]
logger = logging.getLogger(__name__)
JOB = {k: v for k, v in README_JOB.items() if k != "callback"}


def test_swagger_ui_renders_every_operation(page, live_api: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    open_swagger_ui(page, live_api)
    text = "\n".join(page.locator(".opblock-summary").all_inner_texts())
    for method, path in [("POST", "/pricing"), ("GET", "/pricing/{job_id}"), ("DELETE", "/pricing/{job_id}")]:
        assert method in text and path in text, text
    shot = tmp_path / "swagger-ui.png"
    page.screenshot(path=str(shot), full_page=True)
    logger.info("screenshot: %s", shot)


def test_authorize_and_try_it_out_in_sample_mode(page, live_api: str) -> None:  # type: ignore[no-untyped-def]
    open_swagger_ui(page, live_api)
    authorize(page, "analyst", "anything")  # the service's own development token endpoint
    status, body = try_post_pricing(page, JOB)
    assert status == "201", body
    client = httpx.Client(base_url=live_api, headers=AUTH, timeout=10)
    assert wait_for(client, body["job_id"])["status"] == "SUCCESS"
