"""Where a job's documents come from: the project's sample files or the central DB.

Both return the same Eve JSON documents, so the worker builds the BRTP
portfolio the same way whatever the source.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol

from BRTP import InvalidInputError

Document = dict[str, Any]


class DataSourceError(Exception):
    """The data source failed in a way the user should hear about (unreachable, refused, ...)."""


@dataclass(frozen=True)
class JobDocuments:
    """The central-DB documents one job needs."""

    prosumers: list[Document]
    curtailable_loads: list[Document]
    load_entries: list[Document]
    flex_request: Document
    flex_request_data_points: list[Document]


@dataclass(frozen=True)
class UnknownNames:
    """Names of a job that the data source does not have."""

    prosumers: list[str]
    flex_request: str | None

    def __bool__(self) -> bool:
        return bool(self.prosumers) or self.flex_request is not None


class DataSource(Protocol):
    """Fetches a job's documents."""

    def fetch(self, prosumers: list[str], flex_request: str, start: datetime, end: datetime) -> JobDocuments:
        """The documents of ``prosumers`` and ``flex_request`` in ``[start, end)``."""

    def unknown_names(self, prosumers: list[str], flex_request: str) -> UnknownNames | None:
        """Names the source does not have, or None when that cannot be known cheaply."""


class SampleDataSource:
    """The sample files written by :mod:`swagger_server.sample_data.generator`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @cache  # noqa: B019 - one source per process, files that do not change
    def _load(self, collection: str) -> list[Document]:
        path = self.directory / f"{collection}.json"
        data: list[Document] = json.loads(path.read_text())
        return data

    @cached_property
    def prosumers_by_name(self) -> dict[str, Document]:
        """All sample prosumers by name."""
        return {doc["name"]: doc for doc in self._load("dr_prosumers")}

    @cached_property
    def flex_requests_by_name(self) -> dict[str, Document]:
        """All sample flex requests by name."""
        return {doc["name"]: doc for doc in self._load("flex_requests")}

    def unknown_names(self, prosumers: list[str], flex_request: str) -> UnknownNames:
        """Names that are not in the sample files."""
        return UnknownNames(
            prosumers=[name for name in prosumers if name not in self.prosumers_by_name],
            flex_request=None if flex_request in self.flex_requests_by_name else flex_request,
        )

    def fetch(self, prosumers: list[str], flex_request: str, start: datetime, end: datetime) -> JobDocuments:
        """The sample documents of the job (all timestamps; the parser keeps the horizon)."""
        unknown = self.unknown_names(prosumers, flex_request)
        if unknown.prosumers:
            raise InvalidInputError(f"unknown prosumer(s) in the sample data: {', '.join(unknown.prosumers)}")
        if unknown.flex_request:
            raise InvalidInputError(f"unknown flex request in the sample data: {flex_request}")
        chosen = [self.prosumers_by_name[name] for name in prosumers]
        ids = {doc["_id"] for doc in chosen}
        request = self.flex_requests_by_name[flex_request]
        return JobDocuments(
            prosumers=chosen,
            curtailable_loads=[d for d in self._load("curtailable_loads") if d["prosumer_id"] in ids],
            load_entries=[d for d in self._load("load_entries") if d["prosumer_id"] in ids],
            flex_request=request,
            flex_request_data_points=[
                d for d in self._load("flex_request_data_points") if d["flex_request_id"] == request["_id"]
            ],
        )
