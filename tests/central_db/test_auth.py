"""Bearer tokens in central-DB mode: checked with the central DB, cached, never blocking the loop."""

import asyncio
import base64
import socket
import threading
import time

import pytest

from swagger_server.app import create_app
from swagger_server.auth import central_db_authorizer, introspection_authorizer
from tests.central_db.support import CENTRAL_QUEUE, central_settings, user_token
from tests.fakes.eve_server import EveServer, Fault
from tests.fakes.receiver import Receiver, Reply
from tests.logs import events
from tests.off_loop import run_coroutine
from tests.services import free_port, make_settings

pytestmark = pytest.mark.integration


def test_no_token_is_401(central_api) -> None:  # type: ignore[no-untyped-def]
    response = central_api.get("/pricing")
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/problem+json")


def test_wrong_token_is_401(central_api, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    response = central_api.get("/pricing", headers={"Authorization": "Bearer not-a-central-db-token"})
    assert response.status_code == 401
    assert fresh_eve.state.calls["authorization"] == 1


def test_valid_token_is_checked_once_within_the_ttl(central_api, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    headers = user_token(fresh_eve)
    for _ in range(20):
        assert central_api.get("/pricing?limit=1", headers=headers).status_code == 200
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


def test_swagger_ui_token_url_is_the_central_dbs(central_api, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    spec = central_api.get("/openapi.json").json()
    assert (
        spec["components"]["securitySchemes"]["oAuth2"]["flows"]["password"]["tokenUrl"]
        == f"{fresh_eve.url}/oauth/token"
    )


def test_a_read_only_token_may_read_but_not_submit(central_api, fresh_eve) -> None:  # type: ignore[no-untyped-def]
    """The check names the method: the central DB grants GET to this token and refuses POST; each is asked once."""
    headers = user_token(fresh_eve, scope="read_only")
    assert central_api.get("/pricing?limit=1", headers=headers).status_code == 200
    assert central_api.post("/pricing", json={}, headers=headers).status_code == 401
    assert central_api.post("/pricing", json={}, headers=headers).status_code == 401
    assert fresh_eve.state.calls["authorization"] == 2


def test_concurrent_checks_of_one_token_share_one_call(fresh_eve: EveServer) -> None:
    """Twenty requests with one new token arrive while its check is in flight (the central DB takes 0.5 s)."""
    fresh_eve.state.faults.append(Fault("authorization", delay=0.5))
    check = central_db_authorizer(fresh_eve.url, ttl_seconds=30)
    token = fresh_eve.state.issue_token()

    async def burst() -> list[object]:
        return list(await asyncio.gather(*(check.check(token, "GET", "/pricing") for _ in range(20))))

    answers = run_coroutine(burst())
    assert fresh_eve.state.calls["authorization"] == 1
    assert all(answer == {"sub": "", "scope": ["post_pricing"]} for answer in answers)


def test_a_token_is_checked_again_after_the_cache_lifetime(fresh_eve: EveServer) -> None:
    """Within ``AUTH_CACHE_SECONDS`` the answer is reused; after it, the central DB is asked again (a revoked token
    is then refused)."""
    check = central_db_authorizer(fresh_eve.url, ttl_seconds=0.3)
    token = fresh_eve.state.issue_token()
    assert run_coroutine(check.check(token, "GET", "/pricing")) is not None
    assert run_coroutine(check.check(token, "GET", "/pricing/abc")) is not None  # same resource: cached
    assert fresh_eve.state.calls["authorization"] == 1
    fresh_eve.state.revoke_all_tokens()
    time.sleep(0.4)  # a lower bound: any longer wait gives the same answer
    assert run_coroutine(check.check(token, "GET", "/pricing")) is None
    assert fresh_eve.state.calls["authorization"] == 2


def test_introspection_sends_the_client_credentials(fresh_eve: EveServer) -> None:
    check = introspection_authorizer(f"{fresh_eve.url}/oauth/introspect", "pricing-api", "intro-secret", 30)
    token = fresh_eve.state.issue_token()
    assert run_coroutine(check.check(token, "GET", "/pricing")) == {"sub": "", "scope": ["post_pricing"]}
    expected = "Basic " + base64.b64encode(b"pricing-api:intro-secret").decode()
    assert fresh_eve.state.introspection_credentials[-1] == expected


def test_central_db_mode_serves_no_token_endpoint_of_its_own(central_api) -> None:  # type: ignore[no-untyped-def]
    """Tokens come from the central DB there; the development ``/oauth/token`` is sample-data mode's only."""
    form = {"grant_type": "password", "username": "u", "password": "p", "client_id": "c"}
    assert central_api.post("/oauth/token", data=form).status_code == 404


def test_api_tokens_in_central_db_mode_are_the_only_ones_accepted(fresh_eve, redis_url) -> None:  # type: ignore[no-untyped-def]
    client = create_app(central_settings(redis_url, CENTRAL_QUEUE, fresh_eve, api_tokens="svc-1, svc-2")).test_client()
    assert client.get("/pricing?limit=1", headers={"Authorization": "Bearer svc-2"}).status_code == 200
    assert client.get("/pricing?limit=1", headers=user_token(fresh_eve)).status_code == 401
    assert fresh_eve.state.calls["authorization"] == 0  # the configured list decides; the central DB is not asked


def test_configured_tokens_are_known_by_a_hash_of_themselves() -> None:
    """A configured token's identity (who owns its jobs) is a hash, never the token in clear."""
    from swagger_server.auth import AnyToken, StaticTokens, token_identity

    static = StaticTokens(frozenset({"svc-1"}))
    assert run_coroutine(static.check("svc-1", "POST", "/pricing")) == {
        "sub": token_identity("svc-1"),
        "scope": ["post_pricing"],
    }
    assert run_coroutine(static.check("svc-2", "POST", "/pricing")) is None
    assert run_coroutine(AnyToken().check("t", "GET", "/pricing")) == {
        "sub": token_identity("t"),
        "scope": ["post_pricing"],
    }
    assert run_coroutine(AnyToken().check("  ", "GET", "/pricing")) is None
    assert token_identity("svc-1").startswith("token:") and "svc-1" not in token_identity("svc-1")
    assert token_identity("svc-1") != token_identity("svc-2") and len(token_identity("svc-1")) == len("token:") + 24


def test_introspection_names_who_the_token_is_and_what_it_may_do(fresh_eve: EveServer) -> None:
    check = introspection_authorizer(f"{fresh_eve.url}/oauth/introspect", "", "", 30)
    state = fresh_eve.state
    named = state.issue_token(sub="user-7", username="ann")
    by_username = state.issue_token(username="ann")
    nobody = state.issue_token(scope=None)
    assert run_coroutine(check.check(named, "GET", "/pricing")) == {"sub": "user-7", "scope": ["post_pricing"]}
    assert run_coroutine(check.check(by_username, "GET", "/pricing")) == {"sub": "ann", "scope": ["post_pricing"]}
    assert run_coroutine(check.check(nobody, "GET", "/pricing")) == {"sub": "", "scope": []}
    assert state.introspection_forms[-1] == {"token": nobody, "token_type_hint": "access_token"}
    assert state.introspection_credentials[-1] == ""  # no client id: no credentials sent


def test_an_unreachable_introspection_endpoint_refuses_the_token_and_says_why(
    service_logs: pytest.LogCaptureFixture,
) -> None:
    check = introspection_authorizer(f"http://127.0.0.1:{free_port()}/oauth/introspect", "c", "s", 30)
    with service_logs.at_level("WARNING", logger="swagger_server.auth"):
        assert run_coroutine(check.check("any", "GET", "/pricing")) is None
    [logged] = events(service_logs, "auth.introspection_failed")
    assert "connect" in logged["error"].lower()


ACTIVE = '{"active": true, "sub": "ann", "scope": "post_pricing"}'


def test_an_introspection_error_status_refuses_the_token_whatever_its_body_says() -> None:
    """Only a 200 answer is read: an error page that happens to say ``active`` does not let the token in."""
    with Receiver() as endpoint:
        endpoint.replies = [Reply(status=503, body=ACTIVE), Reply(status=200, body=ACTIVE)]
        check = introspection_authorizer(endpoint.url("/oauth/introspect"), "", "", ttl_seconds=0)
        assert run_coroutine(check.check("t", "GET", "/pricing")) is None
        assert run_coroutine(check.check("t", "GET", "/pricing")) == {"sub": "ann", "scope": ["post_pricing"]}


def test_an_introspection_endpoint_slower_than_five_seconds_refuses_the_token(
    service_logs: pytest.LogCaptureFixture,
) -> None:
    """The check gives up after 5 s (a request waits on it): an answer at 5.5 s comes too late."""
    with Receiver() as endpoint:
        endpoint.replies = [Reply(delay=5.5, body=ACTIVE)]
        check = introspection_authorizer(endpoint.url("/oauth/introspect"), "", "", ttl_seconds=30)
        with service_logs.at_level("WARNING", logger="swagger_server.auth"):
            assert run_coroutine(check.check("t", "GET", "/pricing")) is None
    [logged] = events(service_logs, "auth.introspection_failed")
    assert logged["error_type"] == "ReadTimeout" and logged["error"]  # httpx's timeout has no message of its own


def test_a_central_db_slower_than_five_seconds_refuses_the_token(
    fresh_eve: EveServer, service_logs: pytest.LogCaptureFixture
) -> None:
    """The check's default limit, as the app builds it: an ``OK`` at 5.5 s comes too late."""
    fresh_eve.state.faults.append(Fault("authorization", delay=5.5, times=1))
    check = central_db_authorizer(fresh_eve.url, ttl_seconds=30)
    with service_logs.at_level("WARNING", logger="swagger_server.auth"):
        assert run_coroutine(check.check(fresh_eve.state.issue_token(), "GET", "/pricing")) is None
    [logged] = events(service_logs, "auth.central_db_unreachable")
    assert logged["error_type"] == "ReadTimeout"


def test_the_central_db_check_reads_a_quoted_answer(fresh_eve: EveServer) -> None:
    """(A base URL with a slash: the request-line test below; Python's HTTP server hides a doubled one.)"""
    fresh_eve.state.json_answers = True
    try:
        check = central_db_authorizer(fresh_eve.url, ttl_seconds=30)
        assert run_coroutine(check.check(fresh_eve.state.issue_token(), "GET", "/pricing")) is not None
        assert run_coroutine(check.check("forged", "GET", "/pricing")) is None
    finally:
        fresh_eve.state.json_answers = False


def test_a_base_url_with_a_slash_asks_for_authorization_without_a_doubled_one() -> None:
    """The request line as sent (Python's HTTP servers collapse a leading ``//``, Eve's router redirects it)."""
    request_lines: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer_once() -> None:
            connection, _ = server.accept()
            with connection:
                request_lines.append(connection.recv(65536).split(b"\r\n")[0])
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")

        answering = threading.Thread(target=answer_once, daemon=True)
        answering.start()
        check = central_db_authorizer(f"http://127.0.0.1:{server.getsockname()[1]}/", ttl_seconds=30)
        assert run_coroutine(check.check("t", "GET", "/pricing")) is not None
        answering.join(10)
    [line] = request_lines
    assert line.startswith(b"GET /authorization/?token=t&") and line.endswith(b" HTTP/1.1")


def test_an_unreachable_central_db_refuses_the_token_and_says_why(service_logs: pytest.LogCaptureFixture) -> None:
    check = central_db_authorizer(f"http://127.0.0.1:{free_port()}", ttl_seconds=30)
    with service_logs.at_level("WARNING", logger="swagger_server.auth"):
        assert run_coroutine(check.check("any", "GET", "/pricing")) is None
    logged = events(service_logs, "auth.central_db_unreachable")
    assert len(logged) == 1 and "connect" in logged[0]["error"].lower()


def test_the_resource_checked_is_the_path_s_first_segment() -> None:
    from swagger_server.auth import resource_of

    assert [resource_of(p) for p in ("/pricing/abc/report", "/pricing", "/", "")] == ["/pricing", "/pricing", "/", "/"]
