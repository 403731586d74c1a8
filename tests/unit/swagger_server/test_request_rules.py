"""The domain rules of a job request that JSON Schema cannot state (also what the pages' form goes through)."""

import math

import pytest

from swagger_server.core.errors import RequestValidationError
from swagger_server.core.jobs import CallbackRequest
from swagger_server.request_rules import job_request
from tests.jobs import README_JOB


def refused(changes: dict[str, object], max_days: int = 7) -> RequestValidationError:
    with pytest.raises(RequestValidationError) as caught:
        job_request({**README_JOB, **changes}, max_days)
    return caught.value


@pytest.mark.parametrize("field", ["start_datetime", "end_datetime"])
def test_a_timestamp_without_a_time_zone_is_named(field: str) -> None:
    value = {"start_datetime": "2021-11-11T00:00:00", "end_datetime": "2021-11-12T00:00:00"}[field]
    error = refused({field: value})
    assert (error.field, error.detail) == (field, f"{value!r} has no time zone (add Z or +hh:mm)")


def test_the_horizon_must_be_positive_and_at_most_the_maximum() -> None:
    same = refused({"end_datetime": "2021-11-11T00:00:00Z"})
    assert (same.field, same.detail) == ("end_datetime", "end_datetime must be after start_datetime")
    long = refused({"end_datetime": "2021-11-19T00:00:00Z"})  # 8 days
    assert (long.field, long.detail) == ("end_datetime", "the horizon is 8.00 days; at most 7 are allowed")
    just_over = refused({"end_datetime": "2021-11-18T00:07:16Z"})  # 7 days and 436 s: 7.00505 days
    assert just_over.detail == "the horizon is 7.01 days; at most 7 are allowed"
    assert job_request({**README_JOB, "end_datetime": "2021-11-18T00:00:00Z"}, 7).end_datetime.startswith("2021-11-18")
    one_hour = job_request({**README_JOB, "end_datetime": "2021-11-11T01:00:00+00:00"}, 7)
    assert one_hour.end_datetime == "2021-11-11T01:00:00+00:00"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.5])
def test_gamma_values_and_margin_are_finite_and_not_negative(bad: float) -> None:
    gamma = refused({"gamma_values": [1.0, bad]})
    assert (gamma.field, gamma.detail) == ("gamma_values[1]", f"{bad} is not a finite number >= 0")
    margin = refused({"profit_margin": bad})
    assert (margin.field, margin.detail) == ("profit_margin", f"{bad} is not a finite number >= 0")


def test_the_request_as_the_job_keeps_it() -> None:
    body = {
        **README_JOB,
        "dr_prosumers": ["user_2_High", "user_1_High", "user_2_High"],
        "gamma_values": [0, None, 1.5],
        "profit_margin": None,
        "dataset": "ds_1",
    }
    request = job_request(body, 7)
    assert request.dr_prosumers == ("user_2_High", "user_1_High")  # repeats once, order kept
    assert request.gamma_values == (0.0, 1.5) and request.profit_margin == 0.0
    assert request.callback == CallbackRequest(README_JOB["callback"]["url"], README_JOB["callback"]["headers"])
    assert (request.flex_request, request.dataset) == (README_JOB["flex_request"], "ds_1")
    assert (request.start_datetime, request.end_datetime) == (README_JOB["start_datetime"], README_JOB["end_datetime"])
    assert job_request({**README_JOB, "callback": None, "profit_margin": 0.25}, 7).callback is None
    assert job_request({**README_JOB, "profit_margin": 0.25}, 7).profit_margin == 0.25
    bare = {k: v for k, v in README_JOB.items() if k not in ("callback", "profit_margin")}
    assert job_request(bare, 7).callback is None and job_request(bare, 7).profit_margin == 0.0
    assert job_request({**README_JOB, "callback": {"url": "https://h.example/cb"}}, 7).callback == CallbackRequest(
        "https://h.example/cb", None
    )
