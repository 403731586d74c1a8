"""One entry point for every input format: :func:`load_dataset` tells them apart and reads them."""

import zipfile
from datetime import datetime
from pathlib import Path, PurePosixPath

from BRTP.data.dataset import Dataset
from BRTP.data.eve_collections import is_eve_folder, read_eve_collections
from BRTP.data.package import read_package
from BRTP.data.workbook import DEFAULT_START, read_workbook
from BRTP.errors import InputFileError, Location

#: Largest size a ``.zip`` or ``.xlsx`` may unpack to, unless the caller says otherwise.
MAX_UNPACKED_BYTES = 4 * 1024**3
#: Largest ratio of unpacked to packed size of one archive member (real tables compress 5-30x).
MAX_COMPRESSION_RATIO = 200


def check_archive(path: Path, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Refuse a ``.zip``/``.xlsx`` with unsafe member names or one that unpacks to too much (a zip bomb).

    Member names must be relative and stay inside the archive (no ``..``, no
    drive or absolute path); the declared sizes must add up to at most
    ``max_unpacked_bytes``, and no member may expand more than
    ``MAX_COMPRESSION_RATIO`` times. The sizes are read from the archive's
    directory, before anything is unpacked.
    """
    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or ":" in member.filename:
                raise InputFileError(Location(path.name), f"the archive member {member.filename!r} has an unsafe path")
            total += member.file_size
            if total > max_unpacked_bytes:
                raise InputFileError(
                    Location(path.name), f"unpacks to more than {max_unpacked_bytes} bytes; split it or load it locally"
                )
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > 1_000_000 and ratio > MAX_COMPRESSION_RATIO:
                raise InputFileError(
                    Location(path.name),
                    f"the archive member {member.filename!r} expands {ratio:.0f} times (a zip bomb?)",
                )


def load_dataset(
    path: Path | str, *, start: datetime = DEFAULT_START, max_unpacked_bytes: int = MAX_UNPACKED_BYTES
) -> Dataset:
    """Read a FlexGrid workbook (``.xlsx``), a tidy package or Eve JSON collections (folder or ``.zip``).

    ``start`` is the first slot of a workbook (workbooks carry no date). An
    archive is checked first (:func:`check_archive`).

    Raises
    ------
    InputFileError
        The file is missing or of no known kind, unsafe, or its data is bad (naming where).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(Location(str(path)), "no such file or folder")
    if path.is_file() and zipfile.is_zipfile(path):
        check_archive(path, max_unpacked_bytes)
    if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_workbook(path, start)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise InputFileError(
            Location(path.name),
            "is neither a workbook (.xlsx) nor a folder or .zip of CSV/Parquet tables or Eve JSON collections",
        )
    if is_eve_folder(path):
        return read_eve_collections(path)
    return read_package(path)
