"""Read and write a tidy portfolio package: a folder or ``.zip`` of CSV or Parquet tables (:mod:`BRTP.data.tables`).

Reading goes through pandas (pyarrow for Parquet) and the vectorised checks of
:class:`~BRTP.data.dataset.Dataset`, so it is the fast path for large
portfolios. Every exported package carries its ``datapackage.json``
(Frictionless Data Package, Table Schema).
"""

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

import pandas as pd

from BRTP.data.dataset import Dataset
from BRTP.data.source_tables import SourceTable, row_locator
from BRTP.data.tables import TABLES, datapackage
from BRTP.errors import InputFileError, Location

FileFormat = Literal["csv", "parquet"]
#: Columns read as text whatever they look like (names, timestamps).
TEXT_COLUMNS = ("prosumer", "device", "flex_request", "timestamp", "deadline", "type", "flexibility_level")


class PackageFiles:
    """The files of a package, in a folder or a zip, by table name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None
        names = self._zip.namelist() if self._zip else [p.name for p in path.iterdir() if p.is_file()]
        self.members: dict[str, str] = {}
        for member in names:
            base = member.rsplit("/", 1)[-1]
            stem, _, suffix = base.rpartition(".")
            if stem in TABLES and suffix in ("csv", "parquet"):
                if stem in self.members:
                    raise InputFileError(
                        Location(path.name), f"table {stem} is there twice ({self.members[stem]} and {member})"
                    )
                self.members[stem] = member

    def has(self, table: str) -> bool:
        """True if the package has a file for ``table``."""
        return table in self.members

    @contextmanager
    def open(self, table: str) -> Iterator[IO[bytes]]:
        """The bytes of ``table``'s file."""
        member = self.members[table]
        if self._zip is not None:
            with self._zip.open(member) as handle:
                yield handle
        else:
            with (self.path / member).open("rb") as handle:
                yield handle

    def close(self) -> None:
        """Close the zip, if any."""
        if self._zip is not None:
            self._zip.close()


def read_table(files: PackageFiles, table: str) -> SourceTable:
    """One table as a :class:`SourceTable` with row numbers as in its file (CSV: the header is row 1)."""
    member = files.members[table]
    name = member.rsplit("/", 1)[-1]
    try:
        with files.open(table) as handle:
            if member.endswith(".csv"):
                text_columns = dict.fromkeys(TEXT_COLUMNS, "category")  # few distinct values: fast to check
                # Only an empty cell is missing: "NaN" or "n/a" in a number column is a mistake to report, not a gap.
                frame = pd.read_csv(
                    handle, dtype=text_columns, skipinitialspace=True, keep_default_na=False, na_values=[""]
                )
                return SourceTable(table, frame, row_locator(name, 2))
            frame = pd.read_parquet(io.BytesIO(handle.read()), engine="pyarrow")
            return SourceTable(table, frame, row_locator(name, 1))
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputFileError(Location(name), f"cannot be read as a {member.rsplit('.', 1)[-1]} table ({exc})") from exc


def read_package(path: Path) -> Dataset:
    """A tidy package (folder or ``.zip``) as a validated :class:`Dataset`."""
    try:
        files = PackageFiles(path)
    except zipfile.BadZipFile as exc:
        raise InputFileError(Location(path.name), "is not a zip file") from exc
    try:
        tables = {name: read_table(files, name) for name in TABLES if files.has(name)}
        for name, table in TABLES.items():
            if not table.optional and name not in tables:
                raise InputFileError(Location(path.name), f"has no {name}.csv or {name}.parquet table")
        return Dataset.from_tables(tables, path.name)
    finally:
        files.close()


def write_package(dataset: Dataset, directory: Path, file_format: FileFormat = "csv") -> list[Path]:
    """Write ``dataset`` as a tidy package into ``directory`` with its ``datapackage.json``; the files written.

    A ``directory`` ending in ``.zip`` is written as one zip file instead.
    """
    if directory.suffix == ".zip":
        with tempfile.TemporaryDirectory() as scratch:
            files = write_package(dataset, Path(scratch), file_format)
            with zipfile.ZipFile(directory, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in files:
                    archive.write(path, path.name)
        return [directory]
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in dataset.to_tables().items():
        target = directory / f"{name}.{file_format}"
        if file_format == "csv":
            text = frame.copy()
            for column in ("timestamp", "deadline"):
                if column in text.columns:
                    text[column] = text[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            text.to_csv(target, index=False)
        else:
            frame.to_parquet(target, engine="pyarrow", index=False)
        written.append(target)
    descriptor = directory / "datapackage.json"
    descriptor.write_text(json.dumps(datapackage(dataset.source.rsplit(".", 1)[0], file_format), indent=2) + "\n")
    return [*written, descriptor]
