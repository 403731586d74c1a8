"""Handlers of ``/datasets``: upload a portfolio once, then price it by id (``dataset`` in ``POST /pricing``)."""

from typing import Any

from connexion.context import context
from starlette.datastructures import UploadFile

from swagger_server import dependencies
from swagger_server.core.errors import RequestValidationError
from swagger_server.dataset_service import dataset_href, view

JSON = {"Content-Type": "application/json"}
Response = tuple[dict[str, Any], int, dict[str, str]]


def caller() -> str:
    """The identity of the caller (the token check's ``sub``)."""
    return str(context.get("user") or "")


def datasets_post(body: dict[str, Any], file: UploadFile | None = None) -> Response:
    """Upload a dataset: 201 with its summary and Location."""
    if file is None:
        raise RequestValidationError("the upload has no file part", field="file")
    summary = dependencies.current().datasets.upload(
        file.file, file.filename or "", body.get("name"), body.get("start_datetime"), caller()
    )
    href = dataset_href(summary.dataset_id)
    return view(summary), 201, {**JSON, "Location": href}


def datasets_list(limit: int = 20, offset: int = 0) -> Response:
    """The caller's datasets, newest first."""
    return dependencies.current().datasets.list(caller(), limit, offset), 200, JSON


def datasets_get(dataset_id: str) -> Response:
    """One dataset's summary with its prosumer names."""
    return view(dependencies.current().datasets.get(dataset_id, caller())), 200, JSON


def datasets_delete(dataset_id: str) -> tuple[None, int]:
    """Delete a dataset and all of its data."""
    dependencies.current().datasets.delete(dataset_id, caller())
    return None, 204


def datasets_download(dataset_id: str) -> tuple[bytes, int, dict[str, str]]:
    """The dataset as a tidy Parquet package (``.zip``)."""
    data = dependencies.current().datasets.download(dataset_id, caller())
    disposition = f'attachment; filename="dataset-{dataset_id}.zip"'
    return data, 200, {"Content-Type": "application/zip", "Content-Disposition": disposition}
