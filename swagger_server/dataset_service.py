"""The dataset service: upload a portfolio once (validated by the BRTP importers), list, read, delete, download.

An upload is written to a private temporary folder, read with
:func:`BRTP.data.load.load_dataset` (the one parser of every format, which also
refuses unsafe or oversized archives), and stored parsed
(:mod:`swagger_server.core.datasets`); the raw upload is not kept. Its data
mistakes become 400s naming the file, sheet/cell or row and column.
"""

import re
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import structlog

from BRTP.data.dataset import horizon_slots
from BRTP.data.eve_collections import is_eve_folder
from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.serialize import dataset_from_bytes, dataset_to_bytes
from BRTP.data.timestamps import parse_timestamp
from BRTP.data.workbook import DEFAULT_START
from BRTP.errors import BrtpError
from swagger_server.core.datasets import DatasetNotFoundError, DatasetStore, DatasetSummary
from swagger_server.core.errors import RequestValidationError, UnsupportedUploadError, UploadTooLargeError
from swagger_server.core.jobs import JobRequest, JsonObject

logger = structlog.get_logger(__name__)

#: What an upload's file name may end with, and what it is read as.
FORMATS = {".xlsx": "workbook", ".xlsm": "workbook", ".zip": "archive"}


def safe_file_name(filename: str, suffix: str) -> str:
    """The client's file name without any folder part, in safe characters, to name the upload on disk and in messages.

    Only the last path component is kept and anything but letters, digits,
    ``._-()`` and spaces becomes ``_``; the file lives in a private temporary folder.
    """
    name = re.sub(r"[^\w.() -]", "_", PurePosixPath(filename.replace("\\", "/")).name)[:120].strip(" .")
    return name if name.lower().endswith(suffix) else f"upload{suffix}"


def dataset_href(dataset_id: str) -> str:
    """The dataset's path."""
    return f"/datasets/{dataset_id}"


class DatasetService:
    """Datasets of the pricing API."""

    def __init__(self, store: DatasetStore, *, max_upload_bytes: int, max_unpacked_bytes: int, shared: bool) -> None:
        self.store = store
        self.max_upload_bytes = max_upload_bytes
        self.max_unpacked_bytes = max_unpacked_bytes
        self.shared = shared

    def _owner(self, identity: str) -> str | None:
        """The owner a caller may see: None (everyone's) in a single-tenant deployment."""
        return None if self.shared else identity

    def upload(
        self, stream: BinaryIO, filename: str, name: str | None, start: str | None, identity: str
    ) -> DatasetSummary:
        """Validate and store an upload; its summary.

        Raises 415 for a kind no importer reads, 413 above ``MAX_UPLOAD_BYTES``,
        400 naming the place of the first data mistake. Nothing is stored unless all of it is valid.
        """
        suffix = Path(filename or "").suffix.lower()
        if suffix not in FORMATS:
            raise UnsupportedUploadError(
                f"{filename or 'the file'!r}: upload a FlexGrid workbook (.xlsx) or a .zip of a tidy CSV/Parquet "
                "package or of Eve JSON collections",
                field="file",
            )
        first_slot = parse_timestamp(start, "start_datetime") if start else DEFAULT_START
        with tempfile.TemporaryDirectory(prefix="pricing-upload-") as scratch:
            path = Path(scratch) / safe_file_name(filename, suffix)
            with path.open("wb") as target:
                shutil.copyfileobj(stream, target, 1024 * 1024)
            size = path.stat().st_size
            if size > self.max_upload_bytes:
                raise UploadTooLargeError(f"the upload is larger than {self.max_upload_bytes} bytes", field="file")
            if suffix == ".zip" and not zipfile.is_zipfile(path):
                raise RequestValidationError(f"{path.name}: is not a .zip archive", field="file")
            try:
                dataset = load_dataset(path, start=first_slot, max_unpacked_bytes=self.max_unpacked_bytes)
            except BrtpError as exc:  # the importers' messages name the file (as the client named it), sheet/cell, row
                raise RequestValidationError(str(exc), field="file") from exc
            kind = (
                "workbook"
                if FORMATS[suffix] == "workbook"
                else "eve collections"
                if is_eve_folder(path)
                else "tidy package"
            )
        arrays = dataset_to_bytes(dataset)
        summary = DatasetSummary.of(
            dataset, str(uuid.uuid4()), name or Path(filename).stem, identity, kind, len(arrays)
        )
        self.store.save(summary, arrays)
        logger.info(
            "dataset.stored",
            dataset_id=summary.dataset_id,
            kind=kind,
            prosumers=len(summary.prosumers),
            upload_bytes=size,
            stored_bytes=len(arrays),
        )
        return summary

    def get(self, dataset_id: str, identity: str) -> DatasetSummary:
        """A dataset the caller may see."""
        return self.store.get(dataset_id, self._owner(identity))

    def list(self, identity: str, limit: int, offset: int) -> JsonObject:
        """A page of the datasets the caller may see, newest first (without prosumer names)."""
        summaries, total = self.store.page(self._owner(identity), limit, offset)
        following = offset + limit
        return {
            "items": [view(s, with_names=False) for s in summaries],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": f"/datasets?limit={limit}&offset={following}" if following < total else None,
        }

    def delete(self, dataset_id: str, identity: str) -> None:
        """Delete a dataset and all of its data (409 while a queued or running job uses it)."""
        self.store.delete(dataset_id, self._owner(identity))
        logger.info("dataset.deleted", dataset_id=dataset_id)

    def download(self, dataset_id: str, identity: str) -> bytes:
        """The dataset as a tidy Parquet package in one ``.zip``."""
        self.get(dataset_id, identity)
        arrays = self.store.arrays(dataset_id)
        if arrays is None:
            raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}", field="dataset_id")
        with tempfile.TemporaryDirectory(prefix="pricing-download-") as scratch:
            target = Path(scratch) / "dataset.zip"
            write_package(dataset_from_bytes(arrays), target, "parquet")
            return target.read_bytes()

    def check_job(self, dataset_id: str, request: JobRequest, identity: str) -> None:
        """A job on dataset ``dataset_id``: the caller's, with the job's names and horizon (else 400)."""
        try:
            summary = self.get(dataset_id, identity)
        except DatasetNotFoundError as exc:
            raise RequestValidationError(f"no dataset with id {dataset_id!r}", field="dataset") from exc
        known = set(summary.prosumers)
        unknown = [name for name in request.dr_prosumers if name not in known]
        if unknown:
            shown = ", ".join(unknown[:20]) + (" ..." if len(unknown) > 20 else "")
            index = request.dr_prosumers.index(unknown[0])
            raise RequestValidationError(
                f"unknown prosumer name(s) in dataset {summary.name!r}: {shown}", field=f"dr_prosumers[{index}]"
            )
        if request.flex_request not in summary.flex_requests:
            raise RequestValidationError(
                f"dataset {summary.name!r} has no flex request {request.flex_request!r} "
                f"(it has: {', '.join(summary.flex_requests) or 'none'})",
                field="flex_request",
            )
        try:
            horizon_slots(summary.grid, request.start_datetime, request.end_datetime)
        except BrtpError as exc:
            raise RequestValidationError(str(exc), field="start_datetime") from exc


def view(summary: DatasetSummary, *, with_names: bool = True) -> JsonObject:
    """The ``Dataset`` body of the contract."""
    grid = summary.grid
    body: JsonObject = {
        "dataset_id": summary.dataset_id,
        "href": dataset_href(summary.dataset_id),
        "name": summary.name,
        "created_at": summary.created_at,
        "source_format": summary.source_format,
        "first_slot": grid.label(0),
        "last_slot": grid.label(grid.n_slots - 1),
        "end": grid.end.isoformat().replace("+00:00", "Z"),
        "slot_hours": summary.slot_hours,
        "counts": {
            "prosumers": len(summary.prosumers),
            "devices": summary.n_devices,
            "flex_requests": len(summary.flex_requests),
            "slots": summary.n_slots,
        },
        "flex_requests": list(summary.flex_requests),
        "warnings": list(summary.warnings),
    }
    if with_names:
        body["prosumers"] = list(summary.prosumers)
    return body
