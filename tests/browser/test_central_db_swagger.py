"""A FlexGrid user's flow in central-DB mode: Authorize against the central DB, Try it out, poll."""

import time

import httpx
import pytest

from tests.browser.swagger import authorize, open_swagger_ui, try_post_pricing
from tests.central_db.support import CENTRAL_QUEUE, central_env
from tests.jobs import README_JOB
from tests.services import api_server, service_env

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_authorize_with_the_central_db_and_submit_a_job(page, fresh_eve, central_worker, redis_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = service_env(redis_url, tmp_path, CENTRAL_QUEUE, **central_env(fresh_eve))
    with api_server(env, tmp_path / "api.log") as base:
        open_swagger_ui(page, base)
        authorize(page, fresh_eve.state.username, fresh_eve.state.password)
        assert fresh_eve.state.calls["oauth"] == 1  # Swagger UI got its token from the central DB
        status, body = try_post_pricing(page, {k: v for k, v in README_JOB.items() if k != "callback"})
        assert status == "201", body
        # Poll as the user would, with the token Swagger UI obtained.
        token = page.evaluate("() => window.ui.authSelectors.authorized().toJS().oAuth2.token.access_token")
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        deadline = time.monotonic() + 60
        while (job := client.get(f"/pricing/{body['job_id']}").json())["status"] not in ("SUCCESS", "FAILURE"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "SUCCESS", job
