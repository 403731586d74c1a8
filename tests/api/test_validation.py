"""Every client error is a 4xx application/problem+json naming the field; nothing is lost."""

import json
from typing import Any

import pytest

from swagger_server.app import create_app
from tests.jobs import AUTH, README_JOB
from tests.services import make_settings


def job(**changes: Any) -> dict[str, Any]:
    body = dict(README_JOB)
    body.update(changes)
    return {k: v for k, v in body.items() if v is not REMOVED}


REMOVED = object()


def assert_problem(response, status: int, field: str | None, contains: str = "") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text and "traceback" not in body
    if field is not None:
        assert body.get("field") == field, body
    assert contains in body["detail"], body
    return body


@pytest.mark.parametrize(
    "name", ["start_datetime", "end_datetime", "dr_prosumers", "flex_request", "gamma_values", "profit_margin"]
)
def test_each_required_field(client, name: str) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.post("/pricing", json=job(**{name: REMOVED}), headers=AUTH), 400, name, "required")


@pytest.mark.parametrize(
    ("changes", "field", "contains"),
    [
        ({"start_datetime": "2021-11-11T00:00:00"}, "start_datetime", "date-time"),
        ({"end_datetime": "tomorrow"}, "end_datetime", "date-time"),
        ({"end_datetime": "2021-11-10T00:00:00Z"}, "end_datetime", "after start_datetime"),
        ({"end_datetime": "2021-11-11T00:00:00Z"}, "end_datetime", "after start_datetime"),
        ({"end_datetime": "2021-11-18T01:00:00Z"}, "end_datetime", "at most 7"),
        ({"dr_prosumers": []}, "dr_prosumers", "non-empty"),
        ({"dr_prosumers": [f"user_{i}" for i in range(10001)]}, "dr_prosumers", "too long"),
        ({"dr_prosumers": ["user_1_High", ""]}, "dr_prosumers[1]", "non-empty"),
        ({"dr_prosumers": ["user_1_High", 7]}, "dr_prosumers[1]", "not of type"),
        (
            {"dr_prosumers": ["user_1_High", "user_999_High"]},
            "dr_prosumers[1]",
            "unknown prosumer name(s): user_999_High",
        ),
        ({"flex_request": "flex_request_9_High"}, "flex_request", "unknown flex request"),
        ({"gamma_values": []}, "gamma_values", "non-empty"),
        ({"gamma_values": [float(i) for i in range(51)]}, "gamma_values", "too long"),
        ({"gamma_values": [0, -1]}, "gamma_values[1]", "minimum"),
        ({"gamma_values": [0, "one"]}, "gamma_values[1]", "not of type"),
        ({"profit_margin": -0.1}, "profit_margin", "minimum"),
        ({"profit_margin": "lots"}, "profit_margin", "not of type"),
        ({"callback": {"url": "ftp://example.org/x"}}, "callback.url", "does not match"),
        ({"callback": {"headers": {}}}, "callback.url", "required"),
        ({"callback": {"url": "http://localhost:9000/x", "headers": {"X": 1}}}, "callback.headers.X", "not of type"),
        ({"callback": {"url": "http://[::1/cb"}}, "callback.url", "not a valid URL"),
        ({"callback": {"url": "http://example.org:99999/cb"}}, "callback.url", "not a valid URL"),
        ({"callback": {"url": "http://exa mple.org/cb"}}, "callback.url", "invalid host name"),
    ],
)
def test_domain_and_schema_rules_name_the_field(client, changes, field, contains) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.post("/pricing", json=job(**changes), headers=AUTH), 400, field, contains)


@pytest.mark.parametrize(
    ("raw", "field", "contains"),
    [
        ('"gamma_values": [0, NaN]', "gamma_values[1]", "finite"),
        ('"gamma_values": [Infinity]', "gamma_values[0]", "greater than the maximum of 1000"),  # the contract's range
        ('"profit_margin": NaN', "profit_margin", "finite"),
    ],
)
def test_non_finite_numbers_are_rejected(client, raw: str, field: str, contains: str) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(job(**{raw.split('"')[1]: REMOVED}))[:-1] + ", " + raw + "}"
    response = client.post("/pricing", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert_problem(response, 400, field, contains)


def test_malformed_json_is_a_400_problem(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/pricing", content=b'{"start_datetime": ', headers={**AUTH, "Content-Type": "application/json"}
    )
    assert_problem(response, 400, None)


def test_null_profit_margin_means_zero(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/pricing", json=job(profit_margin=None), headers=AUTH)
    assert response.status_code == 201, response.text
    stored = client.get(response.headers["Location"], headers=AUTH).json()
    assert stored["request"]["profit_margin"] == 0.0


def test_originals_media_type_is_accepted(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/pricing", content=json.dumps(README_JOB), headers={**AUTH, "Content-Type": "application/vnd.api+json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["href"] == response.headers["Location"] == f"/pricing/{response.json()['job_id']}"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic dTpw"}])
def test_missing_token_is_401(client, headers) -> None:  # type: ignore[no-untyped-def]
    for response in (
        client.post("/pricing", json=README_JOB, headers=headers),
        client.get("/pricing", headers=headers),
        client.get("/pricing/some-id", headers=headers),
        client.delete("/pricing/some-id", headers=headers),
    ):
        assert_problem(response, 401, None)


def test_configured_tokens_are_the_only_ones_accepted(redis_url, service_sample_dir, queue_name) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(redis_url, service_sample_dir, queue_name, api_tokens="alpha, beta"))
    client = app.test_client()
    assert_problem(client.get("/pricing", headers={"Authorization": "Bearer gamma"}), 401, None)
    assert client.get("/pricing", headers={"Authorization": "Bearer beta"}).status_code == 200


def test_unknown_job_is_400_on_the_originals_get_and_404_elsewhere(client) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.get("/pricing/does-not-exist", headers=AUTH), 400, "job_id", "does-not-exist")
    assert_problem(client.delete("/pricing/does-not-exist", headers=AUTH), 404, "job_id")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=DONE", "status"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
        ("offset=302282619169535229427712", "offset"),
    ],  # found by the fuzzer: overflowed Redis range arguments
)
def test_list_parameters_are_validated(client, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.get(f"/pricing?{query}", headers=AUTH), 400, field)


def test_rejected_requests_leave_no_job(client) -> None:  # type: ignore[no-untyped-def]
    before = client.get("/pricing?limit=1", headers=AUTH).json()["total"]
    client.post("/pricing", json=job(gamma_values=[]), headers=AUTH)
    client.post("/pricing", json=job(flex_request="nope"), headers=AUTH)
    assert client.get("/pricing?limit=1", headers=AUTH).json()["total"] == before


def test_probes(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"broker": "ok", "job_store": "ok", "solver": "ok"}


def test_swagger_ui_and_relative_servers(client) -> None:  # type: ignore[no-untyped-def]
    assert "swagger-ui" in client.get("/ui/").text
    spec = client.get("/openapi.json").json()
    # Relative server URLs (Connexion serves the base path, ""), so "Try it out" calls this host.
    assert all(not server["url"].startswith(("http:", "https:")) for server in spec["servers"])
    assert spec["components"]["securitySchemes"]["oAuth2"]["flows"]["password"]["tokenUrl"] == "/oauth/token"


def test_requests_the_original_contract_allowed_are_accepted(client) -> None:  # type: ignore[no-untyped-def]
    """The original allowed repeated prosumer names and null gamma values: repeats count once, nulls are ignored."""
    body = job(dr_prosumers=["user_1_High", "user_1_High", "user_2_High"], gamma_values=[None, 1.0], callback=REMOVED)
    response = client.post("/pricing", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    stored = client.get(response.json()["href"], headers=AUTH).json()["request"]
    assert stored["dr_prosumers"] == ["user_1_High", "user_2_High"] and stored["gamma_values"] == [1.0]


def test_ready_is_503_naming_the_checks_that_fail(service_sample_dir, queue_name) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens on port 1: the broker and the job store fail, the solver does not; the answer says which."""
    down = create_app(make_settings("redis://127.0.0.1:1/0", service_sample_dir, queue_name)).test_client()
    ready = down.get("/ready")
    assert ready.status_code == 503 and ready.headers["content-type"].startswith("application/")
    checks = ready.json()["checks"]
    assert checks["solver"] == "ok" and checks["broker"] != "ok" and checks["job_store"] != "ok", checks
    assert down.get("/health").status_code == 200  # alive, only not ready
