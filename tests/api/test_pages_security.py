"""Pages for people cannot be framed or driven from another site; their headers say so."""

from tests.jobs import AUTH, README_JOB, submit


def test_pages_carry_a_content_security_policy_and_refuse_framing(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'none'" in policy and "default-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_a_sign_in_posted_from_another_site_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    refused = client.post("/login", data={"token": "any-token"}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "pricing_token" not in refused.headers.get("set-cookie", "")
    accepted = client.post(
        "/login", data={"token": "any-token"}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert accepted.status_code == 303 and "pricing_token" in accepted.headers["set-cookie"]


def test_deep_json_and_out_of_range_numbers_are_400s_naming_the_field(client) -> None:  # type: ignore[no-untyped-def]
    deep = ('{"a": ' + "[" * 1000 + "]" * 1000 + "}").encode()
    nested = client.post("/pricing", content=deep, headers={**AUTH, "Content-Type": "application/json"})
    assert (
        nested.status_code == 400
        and nested.json()["field"] == "body"
        and "nested too deeply" in nested.json()["detail"]
    )
    from tests.jobs import README_JOB

    for changes, field in (({"gamma_values": [1e308]}, "gamma_values[0]"), ({"profit_margin": 1e308}, "profit_margin")):
        answer = client.post("/pricing", json={**README_JOB, "callback": None, **changes}, headers=AUTH)
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    long_name = client.get("/pricing/abc/plots/UW_BAR_" + "9" * 5000 + ".png", headers=AUTH)
    assert long_name.status_code == 400 and long_name.json()["field"] == "name"


def sign_in(client) -> str:  # type: ignore[no-untyped-def]
    """Sign in as a browser does; the Set-Cookie header."""
    response = client.post("/login", data={"token": "any-token"}, follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["set-cookie"])


def job_total(client) -> int:  # type: ignore[no-untyped-def]
    return int(client.get("/pricing?limit=1", headers=AUTH).json()["total"])


def test_the_session_cookie_is_http_only_and_logout_forgets_it(client) -> None:  # type: ignore[no-untyped-def]
    cookie = sign_in(client).lower()
    assert "pricing_token=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/jobs", follow_redirects=False).status_code == 200
    out = client.get("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "pricing_token=" in out.headers["set-cookie"] and "max-age=0" in out.headers["set-cookie"].lower()
    again = client.get("/jobs", follow_redirects=False)
    assert again.status_code in (302, 303, 307) and "/login" in again.headers["location"]


def test_the_cookie_alone_reads_but_never_posts_or_deletes_through_the_api(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client)
    assert client.get("/pricing?limit=1").status_code == 200  # GET: the cookie is enough
    before = job_total(client)
    posted = client.post("/pricing", json={**README_JOB, "callback": None})
    assert posted.status_code == 401 and posted.headers["content-type"].startswith("application/problem+json")
    assert job_total(client) == before
    job_id = submit(client)  # with the bearer token
    deleted = client.delete(f"/pricing/{job_id}")
    assert deleted.status_code == 401
    assert client.get(f"/pricing/{job_id}", headers=AUTH).json()["state"] != "cancelled"
    assert client.post("/datasets", files={"file": ("a.csv", b"x")}).status_code == 401


def test_a_job_form_posted_from_another_site_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client)
    form = {
        "start_datetime": README_JOB["start_datetime"],
        "end_datetime": README_JOB["end_datetime"],
        "dr_prosumers": README_JOB["dr_prosumers"],
        "flex_request": README_JOB["flex_request"],
        "profit_margin": "0.1",
        "gamma_values": "1",
    }
    before = job_total(client)
    refused = client.post("/jobs", data=form, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert refused.status_code in (302, 303, 307) and "/login" in refused.headers["location"]
    assert job_total(client) == before
    accepted = client.post("/jobs", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("/report")
    assert job_total(client) == before + 1
