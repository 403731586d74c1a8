"""The committed sample files are exactly what the generator writes, and look like FlexGrid data."""

import json

import numpy as np

from swagger_server.sample_data import SAMPLE_DIR
from swagger_server.sample_data.generator import COLLECTIONS, generate_documents
from tests.documents import build_job


def test_committed_files_are_the_generators_output() -> None:
    generated = generate_documents()
    for name in COLLECTIONS:
        committed = json.loads((SAMPLE_DIR / f"{name}.json").read_text())
        assert committed == json.loads(json.dumps(generated[name])), f"{name}.json is stale: run `make sample-data`"


def test_sample_has_the_originals_names_and_shapes() -> None:
    docs = generate_documents()
    names = {d["name"] for d in docs["dr_prosumers"]}
    assert names == {f"user_{k}_{level}" for k in range(1, 11) for level in ("Low", "Medium", "High")}
    assert {d["name"] for d in docs["flex_requests"]} == {
        f"flex_request_1_{level}" for level in ("Low", "Medium", "High")
    }
    for prosumer in docs["dr_prosumers"]:
        assert len(prosumer["shiftable_devices"]) == 3 and len(prosumer["EVs"]) == 1
        assert set(prosumer) >= {"_id", "_etag", "_links", "_created", "_updated"}


def test_flexibility_levels_differ_as_named() -> None:
    docs = generate_documents()
    kappa = {}
    request_size = {}
    for level in ("Low", "Medium", "High"):
        portfolio, request = build_job(docs, [f"user_{k}_{level}" for k in range(1, 11)], f"flex_request_1_{level}")
        kappa[level] = portfolio.curtailment_slope[portfolio.max_curtailment_kw > 0].mean()
        request_size[level] = request.max_kw.sum() / portfolio.desired_load_kw.sum()
        assert portfolio.devices.count == 40
    # Low-flexibility users ask more for curtailment; High-flexibility requests are larger.
    assert kappa["Low"] > kappa["Medium"] > kappa["High"]
    assert request_size["Low"] < request_size["Medium"] < request_size["High"]


def test_generator_scales_for_benchmarks() -> None:
    docs = generate_documents(users_per_level=100, seed=7)
    assert len(docs["dr_prosumers"]) == 300
    assert len(docs["curtailable_loads"]) == 300 * 24
    assert np.unique([d["_id"] for d in docs["curtailable_loads"]]).size == 300 * 24
