"""One entry point for every input format: :func:`load_dataset` tells them apart and reads them."""

import zipfile
from datetime import datetime
from pathlib import Path

from BRTP.data.dataset import Dataset
from BRTP.data.eve_collections import is_eve_folder, read_eve_collections
from BRTP.data.package import read_package
from BRTP.data.workbook import DEFAULT_START, read_workbook
from BRTP.errors import InputFileError, Location


def load_dataset(path: Path | str, *, start: datetime = DEFAULT_START) -> Dataset:
    """Read a FlexGrid workbook (``.xlsx``), a tidy package or Eve JSON collections (folder or ``.zip``).

    ``start`` is the first slot of a workbook (workbooks carry no date).

    Raises
    ------
    InputFileError
        The file is missing or of no known kind, or its data is bad (naming where).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(Location(str(path)), "no such file or folder")
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
