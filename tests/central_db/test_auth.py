"""Bearer tokens in central-DB mode: checked with the central DB, cached, never blocking the loop."""

import pytest

from swagger_server.app import create_app
from tests.central_db.support import CENTRAL_QUEUE, user_token
from tests.services import make_settings

pytestmark = pytest.mark.integration


def test_no_token_is_401(central_client) -> None:  # type: ignore[no-untyped-def]
    response = central_client.get("/pricing")
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/problem+json")


def test_wrong_token_is_401(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    response = central_client.get("/pricing", headers={"Authorization": "Bearer not-a-central-db-token"})
    assert response.status_code == 401
    assert fresh_eve.state.calls["authorization"] == 1


def test_valid_token_is_checked_once_within_the_ttl(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    headers = user_token(fresh_eve)
    for _ in range(20):
        assert central_client.get("/pricing?limit=1", headers=headers).status_code == 200
    assert fresh_eve.state.calls["authorization"] == 1


def test_introspection_without_the_scope_is_403(fresh_eve, redis_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        redis_url,
        tmp_path,
        CENTRAL_QUEUE,
        sample_data=False,
        central_db_base_url=fresh_eve.url,
        token_introspection_url=f"{fresh_eve.url}/oauth/introspect",
    )
    client = create_app(settings).test_client()
    assert client.get("/pricing", headers=user_token(fresh_eve, scope="read_only")).status_code == 403
    assert client.get("/pricing", headers=user_token(fresh_eve)).status_code == 200
    assert client.get("/pricing", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_swagger_ui_token_url_is_the_central_dbs(central_client, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    spec = central_client.get("/openapi.json").json()
    assert (
        spec["components"]["securitySchemes"]["oAuth2"]["flows"]["password"]["tokenUrl"]
        == f"{fresh_eve.url}/oauth/token"
    )
