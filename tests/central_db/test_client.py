"""The central-DB client against a real Eve-like HTTP server: paging, tokens, retries, faults."""

import time

import pytest

from swagger_server.core.central_db import CentralDbClient, CentralDbUnavailable
from swagger_server.core.data_sources import CentralDbSource
from tests.fakes.eve_server import EveServer, Fault
from tests.logs import events

START, END = "2021-11-11T00:00:00Z", "2021-11-12T00:00:00Z"


@pytest.fixture
def eve(sample_docs):  # type: ignore[no-untyped-def]
    with EveServer(sample_docs) as server:
        yield server


def client_for(server: EveServer, **overrides: object) -> CentralDbClient:
    options: dict[str, object] = dict(timeout=2.0, retries=3, backoff=0.01, page_size=25)
    options.update(overrides)
    return CentralDbClient(server.url, "pricing", server.state.username, server.state.password, **options)  # type: ignore[arg-type]


def test_where_filters_and_every_page_is_followed(eve: EveServer, sample_docs) -> None:  # type: ignore[no-untyped-def]
    source = CentralDbSource(client_for(eve, page_size=7))
    docs = source.fetch(["user_1_High", "user_2_Low"], "flex_request_1_High", START, "2021-11-11T12:00:00Z")
    assert sorted(d["name"] for d in docs.prosumers) == ["user_1_High", "user_2_Low"]
    assert len(docs.curtailable_loads) == 2 * 12  # $gte start, $lt end
    assert all(START <= d["timestamp"] < "2021-11-11T12:00:00Z" for d in docs.curtailable_loads)
    assert len(docs.flex_request_data_points) == 12
    assert docs.flex_request["name"] == "flex_request_1_High"
    assert eve.state.calls["curtailable_loads"] == 4  # 24 documents, 7 per page
    assert eve.state.calls["oauth"] == 1  # one token for the whole job
    assert eve.state.token_forms == [
        {"grant_type": "password", "client_id": "pricing", "username": "aggregator", "password": "s3cret"}
    ]


def test_token_is_refreshed_before_it_expires(eve: EveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refreshed inside its last tenth of life, while the central DB still accepts it (no sleep, no 401 needed).

    The clock is moved, for the client and the fake alike: at 95 s of a 100 s token the old token is still
    valid, so only a refresh *before* expiry asks for a new one (a client that waited for expiry or a 401 would not).
    """
    eve.state.token_lifetime = 100.0
    client = client_for(eve)
    client.find("flex_requests", {})
    token = client.tokens.get()
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 95.0)
    assert eve.state.token_valid(token)  # the central DB would still take the old one
    client.find("flex_requests", {})
    assert eve.state.calls["oauth"] == 2 and client.tokens.get() != token


def test_the_refresh_margin_is_a_tenth_of_a_short_token_s_life(eve: EveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 100 s token is refreshed from 90 s on (its last tenth; 30 s for long-lived ones), not before."""
    eve.state.token_lifetime = 100.0
    client = client_for(eve)
    client.find("flex_requests", {})
    real = time.monotonic
    for moved, tokens in ((80.0, 1), (89.0, 1), (90.5, 2)):
        monkeypatch.setattr(time, "monotonic", lambda moved=moved: real() + moved)
        client.find("flex_requests", {})
        assert eve.state.calls["oauth"] == tokens, moved


def test_a_token_without_a_lifetime_is_kept_for_an_hour(eve: EveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``expires_in`` is only recommended (RFC 6749): without it a token counts as an hour's, refreshed 30 s early."""
    eve.state.announce_lifetime = False
    client = client_for(eve)
    client.find("flex_requests", {})
    real = time.monotonic
    for moved, tokens in ((3560.0, 1), (3570.5, 2)):
        monkeypatch.setattr(time, "monotonic", lambda moved=moved: real() + moved)
        client.find("flex_requests", {})
        assert eve.state.calls["oauth"] == tokens, moved


def test_a_401_refreshes_the_token_once(eve: EveServer) -> None:
    client = client_for(eve)
    client.find("flex_requests", {})
    eve.state.revoke_all_tokens()
    found = client.find("dr_prosumers", {"name": {"$in": ["user_3_Medium"]}})  # asked again with its query
    assert [d["name"] for d in found] == ["user_3_Medium"]
    assert eve.state.calls["oauth"] == 2


def test_500_then_success_is_retried(eve: EveServer, service_logs: pytest.LogCaptureFixture) -> None:
    eve.state.faults.append(Fault("dr_prosumers", status=500, times=2))
    with service_logs.at_level("INFO", logger="swagger_server.core.central_db"):
        found = client_for(eve, backoff=0.2).find("dr_prosumers", {"name": {"$in": ["user_3_Medium"]}})
    assert [d["name"] for d in found] == ["user_3_Medium"]
    assert eve.state.calls["dr_prosumers"] == 3
    retries = events(service_logs, "central_db.retry")
    assert [r["attempt"] for r in retries] == [1, 2] and all("500 Internal Server Error" in r["error"] for r in retries)
    # backoff * 2^(attempt-1) plus up to one backoff of jitter: 0.2-0.4 s, then 0.4-0.6 s
    assert 0.2 <= retries[0]["retry_in"] <= 0.4 and 0.4 <= retries[1]["retry_in"] <= 0.6, retries
    assert all(r["error_type"] == "HTTPStatusError" for r in retries)
    tokens = events(service_logs, "central_db.token_refreshed")
    assert [t["expires_in"] for t in tokens] == [eve.state.token_lifetime]


@pytest.mark.parametrize("status", [500, 503])
def test_a_permanent_5xx_gives_up_with_a_clear_message(eve: EveServer, status: int) -> None:
    eve.state.faults.append(Fault("dr_prosumers", status=status, times=None))
    with pytest.raises(CentralDbUnavailable, match=f"^the central DB answered {status} to dr_prosumers 3 times; try"):
        client_for(eve).find("dr_prosumers", {})
    assert eve.state.calls["dr_prosumers"] == 3


def test_a_later_page_that_keeps_failing_is_named_by_its_collection(eve: EveServer) -> None:
    """The second page's URL carries the query (the next link); the message names the collection only."""
    eve.state.faults.append(Fault("curtailable_loads", status=503, times=None, skip=1))
    with pytest.raises(CentralDbUnavailable, match="answered 503 to curtailable_loads 3 times;"):
        client_for(eve, page_size=7).find("curtailable_loads", {})


@pytest.mark.parametrize(
    "body",
    ["<html><body>Please log in</body></html>", '{"_status": "OK"}'],
    ids=["an HTML page", "JSON without _items"],
)
def test_an_answer_that_is_not_an_eve_page_is_named_with_the_setting_to_check(eve: EveServer, body: str) -> None:
    """A 200 from something else (a proxy's login page, another service) fails the read saying what came back."""
    eve.state.faults.append(Fault("dr_prosumers", status=200, body=body))
    with pytest.raises(CentralDbUnavailable) as refused:
        client_for(eve).find("dr_prosumers", {})
    assert str(refused.value) == (
        f"the central DB's answer to dr_prosumers is not an Eve page (JSON with _items): {body!r}; "
        "check CENTRAL_DB_BASE_URL"
    )


def test_a_central_db_without_hateoas_is_read_from_its_one_page(eve: EveServer) -> None:
    """Eve with ``HATEOAS = False`` sends no ``_links``: a read that fits one page is that page."""
    eve.state.hateoas = False
    found = client_for(eve, page_size=100).find("dr_prosumers", {})
    assert len(found) == len(eve.state.docs["dr_prosumers"]) and eve.state.calls["dr_prosumers"] == 1


def test_error_answers_are_quoted_up_to_200_characters(eve: EveServer) -> None:
    """A big error page (a proxy's) is cut to its first 200 characters in the message a user sees."""
    page = "<html>" + "x" * 500
    eve.state.faults.append(Fault("dr_prosumers", status=404, body=page))
    with pytest.raises(CentralDbUnavailable) as refused:
        client_for(eve).find("dr_prosumers", {})
    assert str(refused.value) == f"the central DB answered 404 to dr_prosumers: {page[:200]}"
    eve.state.faults.append(Fault("dr_prosumers", status=200, body=page))
    with pytest.raises(CentralDbUnavailable) as not_eve:
        client_for(eve).find("dr_prosumers", {})
    assert f"{page[:200]!r};" in str(not_eve.value) and f"{page[:201]!r}" not in str(not_eve.value)


def test_a_redirect_is_not_followed_with_the_token(eve: EveServer) -> None:
    """The bearer token goes to CENTRAL_DB_BASE_URL only: a redirect is reported, not followed."""
    eve.state.faults.append(Fault("dr_prosumers", status=302, body="moved", location="/elsewhere"))
    with pytest.raises(CentralDbUnavailable) as refused:
        client_for(eve).find("dr_prosumers", {})
    assert str(refused.value) == "the central DB answered 302 to dr_prosumers: moved"
    assert eve.state.calls["elsewhere"] == 0


def test_a_read_is_logged_with_the_pages_it_took(eve: EveServer, service_logs: pytest.LogCaptureFixture) -> None:
    with service_logs.at_level("DEBUG", logger="swagger_server.core.central_db"):
        found = client_for(eve, page_size=7).find("dr_prosumers", {})
    [logged] = events(service_logs, "central_db.read")
    assert logged["collection"] == "dr_prosumers" and logged["pages"] == eve.state.calls["dr_prosumers"]
    assert logged["pages"] == -(-len(found) // 7) > 1


def test_a_projection_returns_only_the_fields_asked_for(eve: EveServer) -> None:
    found = client_for(eve).find("dr_prosumers", {}, {"name": 1})
    assert found and all(set(d) == {"_id", "name"} for d in found)


def test_a_page_that_times_out_is_retried(eve: EveServer) -> None:
    eve.state.faults.append(Fault("curtailable_loads", delay=1.5, times=1, skip=1))
    client = client_for(eve, timeout=0.5, page_size=10)
    found = client.find("curtailable_loads", {"timestamp": {"$gte": START, "$lt": "2021-11-11T01:00:00Z"}})
    assert len(found) == 30
    assert eve.state.calls["curtailable_loads"] == 3 + 1  # 3 pages, the second one asked twice


def test_client_errors_are_not_retried(eve: EveServer) -> None:
    with pytest.raises(CentralDbUnavailable, match="answered 404"):
        client_for(eve).find("no_such_collection", {})
    assert eve.state.calls["no_such_collection"] == 1


def test_wrong_credentials_say_which_settings_to_check(eve: EveServer) -> None:
    client = CentralDbClient(eve.url, "client", "aggregator", "wrong", timeout=2, retries=3, backoff=0.01, page_size=25)
    expected = (
        r"refused our credentials \(401\) for oauth/token; "
        r"check CENTRAL_DB_CLIENT_ID, CENTRAL_DB_USERNAME and CENTRAL_DB_PASSWORD$"
    )
    with pytest.raises(CentralDbUnavailable, match=expected):
        client.find("flex_requests", {})


def test_unreachable_central_db_is_named() -> None:
    client = CentralDbClient("http://127.0.0.1:9", "c", "u", "p", timeout=0.5, retries=2, backoff=0.01, page_size=25)
    with pytest.raises(CentralDbUnavailable, match=r"could not be reached .* after 2 attempts \(ConnectError\); try"):
        client.find("flex_requests", {})


def test_unknown_names_are_found_cheaply(eve: EveServer) -> None:
    source = CentralDbSource(client_for(eve))
    unknown = source.unknown_names(["user_1_High", "user_42_High"], "flex_request_7_Low")
    assert unknown is not None
    assert unknown.prosumers == ["user_42_High"] and unknown.flex_request == "flex_request_7_Low"
