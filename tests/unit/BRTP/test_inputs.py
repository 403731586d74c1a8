"""Every input format gives the same validated portfolio: workbook = central-DB export, packages round-trip."""

import json
from pathlib import Path

import numpy as np
import pytest
from frictionless import Package

from BRTP import FlexRequest, Portfolio, run_brtp
from BRTP.data.dataset import Dataset
from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.synthetic import REQUEST, flexgrid_dataset, synthetic_dataset
from BRTP.data.tables import datapackage
from BRTP.data.workbook import write_workbook
from swagger_server.sample_data import DATAPACKAGE, SAMPLE_DIR, USER_SAMPLES
from tests.documents import REPO_ROOT, build_job, require_shared

WORKBOOK = REPO_ROOT.parent / "shared" / "fixtures" / "BRTP Input.xlsx"
PORTFOLIO_ARRAYS = ("baseload_kw", "curtailable_kw", "max_curtailment_kw", "curtailment_slope")
DEVICE_ARRAYS = ("user", "is_ev", "profile_kw", "start", "finish", "deadline", "delay_price", "power_cap_kw")
KPIS = ("auw", "tc", "tc_desired", "bb", "flex_q", "flex_r", "flex_delivered", "dso_revenue")


def assert_same_job(a: tuple[Portfolio, FlexRequest], b: tuple[Portfolio, FlexRequest], rtol: float = 0.0) -> None:
    (pa, ra), (pb, rb) = a, b
    assert pa.user_names == pb.user_names and pa.grid == pb.grid
    for name in PORTFOLIO_ARRAYS:
        np.testing.assert_allclose(getattr(pa, name), getattr(pb, name), rtol=rtol, atol=0, err_msg=name)
    assert pa.devices.names == pb.devices.names
    for name in DEVICE_ARRAYS:
        np.testing.assert_allclose(getattr(pa.devices, name), getattr(pb.devices, name), rtol=rtol, err_msg=name)
    np.testing.assert_allclose(ra.widths_kw, rb.widths_kw, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ra.prices, rb.prices, rtol=rtol)


def test_the_flexgrid_workbook_gives_exactly_the_central_db_export(shared_docs) -> None:  # type: ignore[no-untyped-def]
    require_shared(WORKBOOK)
    names = [doc["name"] for doc in shared_docs["dr_prosumers"]]
    from_export = build_job(shared_docs, names, "flex_request_1_High")
    from_workbook = load_dataset(WORKBOOK).job("flex_request_1_High", names)
    assert_same_job(from_workbook, from_export)
    assert from_workbook[0].devices.count == 120 and from_workbook[0].n_users == 30
    gammas = [0.5, 1.0, 2.0]
    for ours, theirs in zip(
        run_brtp(*from_workbook, 0.2, gammas).kpis(), run_brtp(*from_export, 0.2, gammas).kpis(), strict=True
    ):
        for name in KPIS:
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(ours.uw, theirs.uw, rtol=1e-9, atol=1e-9)


def test_eve_collections_read_like_the_document_parser(sample_docs) -> None:  # type: ignore[no-untyped-def]
    dataset = load_dataset(SAMPLE_DIR)
    names = ["user_3_High", "user_1_Low", "user_7_Medium"]
    for request in ("flex_request_1_Low", "flex_request_1_High"):
        assert_same_job(dataset.job(request, names), build_job(sample_docs, names, request))


def test_a_shorter_horizon_cuts_devices_and_clips_deadlines_as_the_document_parser(sample_docs) -> None:  # type: ignore[no-untyped-def]
    start, end = "2021-11-11T06:00:00Z", "2021-11-11T19:00:00Z"
    names = [f"user_{k}_High" for k in range(1, 11)]
    ours = load_dataset(SAMPLE_DIR).job("flex_request_1_High", names, start, end)
    theirs = build_job(sample_docs, names, "flex_request_1_High", start, end)
    assert_same_job(ours, theirs)
    assert sorted(ours[0].warnings) == sorted(theirs[0].warnings) and ours[0].warnings


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
@pytest.mark.parametrize("source", ["eve-sample", "synthetic"])
def test_a_converted_package_reads_back_as_its_source(tmp_path: Path, file_format: str, source: str) -> None:
    dataset = load_dataset(SAMPLE_DIR) if source == "eve-sample" else synthetic_dataset(200, seed=7)
    files = write_package(dataset, tmp_path / "package", file_format)  # type: ignore[arg-type]
    assert {p.name for p in files} == {f"{t}.{file_format}" for t in _tables()} | {"datapackage.json"}
    again = load_dataset(tmp_path / "package")
    for request in dataset.flex_requests:
        assert_same_job(again.job(request), dataset.job(request))
    report = Package(str(tmp_path / "package" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])[:5]


def _tables() -> list[str]:
    return [r["name"] for r in datapackage()["resources"]]


def test_a_zipped_package_reads_like_the_folder(tmp_path: Path) -> None:
    dataset = synthetic_dataset(50, seed=3)
    write_package(dataset, tmp_path / "p.zip", "parquet")
    assert_same_job(load_dataset(tmp_path / "p.zip").job(REQUEST), dataset.job(REQUEST))


def test_a_written_workbook_reads_back(tmp_path: Path) -> None:
    dataset = flexgrid_dataset(4, seed=11)
    write_workbook(dataset, tmp_path / "w.xlsx")
    again = load_dataset(tmp_path / "w.xlsx")
    for request in dataset.flex_requests:
        assert_same_job(again.job(request, dataset.user_names), dataset.job(request), rtol=1e-14)


def test_the_committed_samples_and_descriptor_are_what_the_generator_writes() -> None:
    expected = flexgrid_dataset(10, seed=2021)
    for sample in ("portfolio.xlsx", "portfolio.zip"):
        dataset = load_dataset(USER_SAMPLES / sample)
        for request in expected.flex_requests:
            assert_same_job(dataset.job(request, expected.user_names), expected.job(request), rtol=1e-14)
    assert json.loads(DATAPACKAGE.read_text()) == datapackage()


def test_all_prosumers_and_the_whole_horizon_by_default() -> None:
    dataset: Dataset = flexgrid_dataset(3, seed=5)
    portfolio, request = dataset.job("flex_request_1_Medium")
    assert portfolio.user_names == dataset.user_names and portfolio.n_slots == dataset.grid.n_slots
    assert request.name == "flex_request_1_Medium"
