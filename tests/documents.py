"""Central-DB document sets for tests: the project's generated sample and the shared real export."""

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from BRTP import FlexRequest, Portfolio, flex_request_from_documents, portfolio_from_documents
from swagger_server.sample_data import SAMPLE_DIR
from swagger_server.sample_data.generator import generate_documents, write_documents

Documents = dict[str, list[dict[str, Any]]]
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_EXPORT = REPO_ROOT.parent / "shared" / "central-db-sample"
START, END = "2021-11-11T00:00:00Z", "2021-11-12T00:00:00Z"
COLLECTIONS = ("dr_prosumers", "curtailable_loads", "load_entries", "flex_requests", "flex_request_data_points")


def require_shared(path: Path) -> Path:
    """``path`` in ../shared; a test needing it skips when it is absent, and fails in CI (CI=true), where it must be."""
    if not path.exists():
        message = f"{path} is absent (the shared folder beside the repository)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def load_documents(directory: Path) -> Documents:
    """Read one JSON list per collection from ``directory``."""
    return {name: json.loads((directory / f"{name}.json").read_text()) for name in COLLECTIONS}


def sample_documents() -> Documents:
    """The committed sample files."""
    return load_documents(SAMPLE_DIR)


def build_job(
    docs: Documents, names: Sequence[str] | None, flex_name: str, start: str = START, end: str = END
) -> tuple[Portfolio, FlexRequest]:
    """Parse a portfolio and its flex request from a document set."""
    portfolio = portfolio_from_documents(
        docs["dr_prosumers"], docs["curtailable_loads"], docs["load_entries"], start, end, user_names=names
    )
    request_doc = next(d for d in docs["flex_requests"] if d["name"] == flex_name)
    request = flex_request_from_documents(request_doc, docs["flex_request_data_points"], portfolio.grid)
    return portfolio, request


def generated_sample_dir(tmp_path_factory: pytest.TempPathFactory, name: str, users_per_level: int) -> Path:
    """A folder of sample files written by the project's generator, ``users_per_level`` users per level."""
    directory = tmp_path_factory.mktemp(name)
    write_documents(generate_documents(users_per_level=users_per_level), directory)
    return directory
