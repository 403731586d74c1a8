"""Every family of bad data, uploaded: a 400 whose detail names the file, sheet/cell or row, and column; nothing stored."""

import shutil
from pathlib import Path

import pytest
import redis

from BRTP.data.package import write_package
from BRTP.data.synthetic import flexgrid_dataset
from BRTP.data.workbook import write_workbook
from swagger_server.core.datasets import ALL_INDEX
from swagger_server.sample_data.generator import generate_documents
from tests.jobs import AUTH
from tests.unit.BRTP.test_input_errors import (
    CSV_CASES,
    EVE_CASES,
    WORKBOOK_CASES,
    broken_csv,
    broken_eve,
    broken_workbook,
)

pytestmark = pytest.mark.integration


def zipped(folder: Path, name: str) -> Path:
    """The folder's files as ``name``.zip (flat, as a user zips a package)."""
    return Path(shutil.make_archive(str(folder.parent / name), "zip", folder))


def refused(client, path: Path, redis_url: str) -> str:  # type: ignore[no-untyped-def]
    """Upload ``path``; it must be a 400 on the file part that stores nothing. Its detail."""
    before = redis.Redis.from_url(redis_url).zcard(ALL_INDEX)
    with path.open("rb") as handle:
        answer = client.post("/datasets", files={"file": (path.name, handle)}, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["field"] == "file" and "Traceback" not in problem["detail"]
    assert redis.Redis.from_url(redis_url).zcard(ALL_INDEX) == before
    return str(problem["detail"])


def assert_names(detail: str, file: str, row: int | None, column: str | None, words: str) -> None:
    assert file in detail, detail
    assert row is None or f"row {row}" in detail, detail
    assert column is None or f"column {column}" in detail, detail
    assert words in detail, detail


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("valid") / "package"
    write_package(flexgrid_dataset(2, seed=3), folder, "csv")
    return folder


@pytest.mark.parametrize("family", CSV_CASES)
def test_tidy_package_errors(family: str, client, redis_url: str, csv_folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    change, file, row, column, words = CSV_CASES[family]
    upload = zipped(broken_csv(csv_folder, tmp_path / "broken", change), "package")
    assert_names(refused(client, upload, redis_url), file, row, column, words)


@pytest.mark.parametrize("family", WORKBOOK_CASES)
def test_workbook_errors(family: str, client, redis_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet, cell, value, where, column, words = WORKBOOK_CASES[family]
    write_workbook(flexgrid_dataset(3, seed=4), tmp_path / "valid.xlsx")
    upload = broken_workbook(tmp_path / "valid.xlsx", tmp_path / "my portfolio.xlsx", sheet, cell, value)
    detail = refused(client, upload, redis_url)
    assert detail.startswith("my portfolio.xlsx, sheet ") and f"sheet '{sheet}'" in detail and where in detail, detail
    assert column in detail and words in detail, detail


@pytest.mark.parametrize("family", EVE_CASES)
def test_eve_collection_errors(family: str, client, redis_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    change, file, row, column, words = EVE_CASES[family]
    upload = zipped(broken_eve(generate_documents(users_per_level=1), tmp_path / "docs", change), "eve")
    assert_names(refused(client, upload, redis_url), file, row, column, words)
