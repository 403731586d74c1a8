"""A parsed job survives the trip through bytes unchanged, and so does its solution."""

import numpy as np

from BRTP import run_brtp
from BRTP.data.serialize import job_from_bytes, job_to_bytes
from tests.documents import build_job


def test_round_trip_keeps_every_array_and_name(sample_docs) -> None:  # type: ignore[no-untyped-def]
    portfolio, request = build_job(sample_docs, ["user_1_High", "user_5_Low", "user_9_Medium"], "flex_request_1_Low")
    again, request_again = job_from_bytes(job_to_bytes(portfolio, request))
    assert again.user_names == portfolio.user_names and again.grid == portfolio.grid
    assert again.devices.names == portfolio.devices.names and again.warnings == portfolio.warnings
    for name in ("baseload_kw", "curtailable_kw", "max_curtailment_kw", "curtailment_slope"):
        np.testing.assert_array_equal(getattr(again, name), getattr(portfolio, name))
    for name in ("user", "is_ev", "profile_kw", "start", "finish", "deadline", "delay_price", "power_cap_kw"):
        original, copied = getattr(portfolio.devices, name), getattr(again.devices, name)
        np.testing.assert_array_equal(copied, original)
        assert copied.dtype == original.dtype
    np.testing.assert_array_equal(request_again.widths_kw, request.widths_kw)
    assert request_again.name == request.name
    first = run_brtp(portfolio, request, 0.2, [1.0]).kpis()
    second = run_brtp(again, request_again, 0.2, [1.0]).kpis()
    assert [(k.auw, k.final_load_kw) for k in first] == [(k.auw, k.final_load_kw) for k in second]


def test_a_whole_dataset_round_trips_and_cuts_the_same_jobs() -> None:
    """What the service stores for an upload is what workers cut jobs from: every array and name kept."""
    from BRTP.data.serialize import dataset_from_bytes, dataset_to_bytes, job_to_bytes
    from BRTP.data.synthetic import synthetic_dataset

    dataset = synthetic_dataset(30, seed=5)
    again = dataset_from_bytes(dataset_to_bytes(dataset))
    assert again.user_names == dataset.user_names and again.flex_requests.keys() == dataset.flex_requests.keys()
    assert again.warnings == dataset.warnings and again.grid == dataset.grid
    for name in dataset.flex_requests:
        some = list(dataset.user_names)[1::4]
        assert job_to_bytes(*again.job(name, some)) == job_to_bytes(*dataset.job(name, some))
