"""Where a job's documents come from: the project's sample files or the FlexGrid central DB.

Both return the same Eve JSON documents (:class:`JobDocuments`), so the
worker builds the BRTP portfolio the same way whatever the source; the BRTP
parser is what rejects bad data. :func:`make_data_source` picks the source
for the configured mode.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Protocol, cast

import structlog

from BRTP import InvalidInputError
from BRTP.data.timestamps import utc_z
from swagger_server.core.central_db import CentralDbClient, Document
from swagger_server.core.errors import DataSourceError
from swagger_server.core.settings import Settings

logger = structlog.get_logger(__name__)

#: Names per ``$in`` query to the central DB, to keep URLs short.
NAMES_PER_QUERY = 100


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
    """Names of a job that a data source does not have."""

    prosumers: list[str]
    flex_request: str | None

    def __bool__(self) -> bool:
        return bool(self.prosumers) or self.flex_request is not None

    def raise_if_any(self, source: str) -> None:
        """Raise :class:`~BRTP.errors.InvalidInputError` naming the unknown names and ``source``."""
        if self.prosumers:
            raise InvalidInputError(f"unknown prosumer(s) in {source}: {', '.join(self.prosumers)}")
        if self.flex_request is not None:
            raise InvalidInputError(f"unknown flex request in {source}: {self.flex_request}")


class DataSource(Protocol):
    """Fetches a job's documents."""

    def fetch(self, prosumers: Sequence[str], flex_request: str, start: str, end: str) -> JobDocuments:
        """The documents of ``prosumers`` and ``flex_request`` in ``[start, end)``."""

    def unknown_names(self, prosumers: Sequence[str], flex_request: str) -> UnknownNames | None:
        """Names the source does not have, or None when that cannot be known cheaply."""


class SampleFiles:
    """The sample files written by :mod:`swagger_server.sample_data.generator` (one JSON list per collection)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @cache  # noqa: B019 - one source per process, files that do not change
    def _load(self, collection: str) -> list[Document]:
        data: list[Document] = json.loads((self.directory / f"{collection}.json").read_text())
        return data

    @cached_property
    def prosumers_by_name(self) -> dict[str, Document]:
        """All sample prosumers by name."""
        return {doc["name"]: doc for doc in self._load("dr_prosumers")}

    @cached_property
    def flex_requests_by_name(self) -> dict[str, Document]:
        """All sample flex requests by name."""
        return {doc["name"]: doc for doc in self._load("flex_requests")}

    def unknown_names(self, prosumers: Sequence[str], flex_request: str) -> UnknownNames:
        """Names that are not in the sample files."""
        return UnknownNames(
            prosumers=[name for name in prosumers if name not in self.prosumers_by_name],
            flex_request=None if flex_request in self.flex_requests_by_name else flex_request,
        )

    def fetch(self, prosumers: Sequence[str], flex_request: str, start: str, end: str) -> JobDocuments:
        """The sample documents of the job (all timestamps; the parser keeps the horizon)."""
        self.unknown_names(prosumers, flex_request).raise_if_any("the sample data")
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


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class CentralDbSource:
    """A job's documents from the central DB, read with ``where`` queries."""

    def __init__(self, client: CentralDbClient) -> None:
        self.client = client

    def _prosumers(self, names: Sequence[str], projection: dict[str, int] | None = None) -> list[Document]:
        found: list[Document] = []
        for chunk in _chunks(names, NAMES_PER_QUERY):
            found += self.client.find("dr_prosumers", {"name": {"$in": chunk}}, projection)
        return found

    def _flex_request(self, name: str) -> Document | None:
        matches = self.client.find("flex_requests", {"name": name})
        return matches[0] if matches else None

    def unknown_names(self, prosumers: Sequence[str], flex_request: str) -> UnknownNames | None:
        """Names the central DB does not have; None when it cannot be asked right now."""
        try:
            known = {doc["name"] for doc in self._prosumers(prosumers, {"name": 1})}
            has_request = self._flex_request(flex_request) is not None
        except DataSourceError as exc:
            logger.warning("central_db.name_check_skipped", error=exc)
            return None
        return UnknownNames([n for n in prosumers if n not in known], None if has_request else flex_request)

    def fetch(self, prosumers: Sequence[str], flex_request: str, start: str, end: str) -> JobDocuments:
        """The documents of ``prosumers`` and ``flex_request`` in ``[start, end)``."""
        chosen = self._prosumers(prosumers)
        request = self._flex_request(flex_request)
        found = {doc["name"] for doc in chosen}
        UnknownNames([n for n in prosumers if n not in found], None if request else flex_request).raise_if_any(
            "the central DB"
        )
        request = cast(Document, request)  # raise_if_any has refused a missing one
        span = {"$gte": utc_z(start), "$lt": utc_z(end)}
        ids = [str(doc["_id"]) for doc in chosen]
        loads: list[Document] = []
        entries: list[Document] = []
        for chunk in _chunks(ids, NAMES_PER_QUERY):
            where = {"prosumer_id": {"$in": chunk}, "timestamp": span}
            loads += self.client.find("curtailable_loads", where)
            entries += self.client.find("load_entries", where)
        points = self.client.find(
            "flex_request_data_points", {"flex_request_id": str(request["_id"]), "timestamp": span}
        )
        logger.info(
            "central_db.fetched",
            prosumers=len(chosen),
            curtailable_loads=len(loads),
            load_entries=len(entries),
            data_points=len(points),
        )
        return JobDocuments(chosen, loads, entries, request, points)


def make_data_source(settings: Settings) -> DataSource:
    """Sample files with ``SAMPLE_DATA=1``, otherwise the central DB."""
    if settings.sample_data:
        return SampleFiles(settings.sample_data_dir)
    return CentralDbSource(
        CentralDbClient(
            settings.central_db_base_url,
            settings.central_db_client_id,
            settings.central_db_username,
            settings.central_db_password.get_secret_value(),
            timeout=settings.central_db_timeout,
            retries=settings.central_db_retries,
            backoff=settings.central_db_backoff,
            page_size=settings.central_db_page_size,
        )
    )
