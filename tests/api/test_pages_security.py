"""Pages for people cannot be framed or driven from another site; their headers say so."""

from tests.jobs import AUTH


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
