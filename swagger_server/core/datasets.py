"""Uploaded datasets in Redis: stored once, parsed, readable by every worker on every machine.

A dataset is what a client uploaded (a FlexGrid workbook, a tidy package, Eve
JSON collections), validated by the BRTP importers and kept as its parsed
arrays (:func:`BRTP.data.serialize.dataset_to_bytes`): workers load those, never
the raw upload. The store is the job store's Redis, so datasets survive
restarts wherever jobs do (append-only file on, eviction off: checked at start).

Keys: ``pricing:dataset:<id>`` (hash: summary, owner), ``pricing:dataset:<id>:arrays``
(bytes), ``pricing:dataset:<id>:jobs`` (ids of jobs that used it, for the
delete check), ``pricing:datasets`` and ``pricing:datasets:owner:<owner>``
(sorted sets by upload time).
"""

import json
from dataclasses import dataclass
from datetime import datetime

import redis

from BRTP.data.dataset import Dataset
from BRTP.data.portfolio import SlotGrid
from swagger_server.core.errors import JobConflictError, JobNotFoundError
from swagger_server.core.jobs import JsonObject, utc_now

DATASET_KEY = "pricing:dataset:{}"
ARRAYS_KEY = "pricing:dataset:{}:arrays"
USERS_KEY = "pricing:dataset:{}:jobs"
ALL_INDEX = "pricing:datasets"
OWNER_INDEX = "pricing:datasets:owner:{}"

# Delete a dataset unless a queued or running job uses it.
# KEYS: its hash, arrays, jobs set, the global index, its owner's index. ARGV: dataset id, the job hash prefix.
# Returns -1 if unknown, 1 when deleted, else the id of a job still using it.
_DELETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for _, job in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local status = redis.call('HGET', ARGV[2] .. job, 'status')
  if status == 'PENDING' or status == 'STARTED' then return job end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
"""

# Record that a job uses a dataset, if the dataset still exists. KEYS: its hash, its jobs set. ARGV: the job id.
_ATTACH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""


class DatasetNotFoundError(JobNotFoundError):
    """No dataset with that id (or not the caller's)."""


@dataclass(frozen=True)
class DatasetSummary:
    """What the API shows of a dataset, and what a job is checked against at submit."""

    dataset_id: str
    name: str
    owner: str
    created_at: str
    source_format: str
    prosumers: tuple[str, ...]
    flex_requests: tuple[str, ...]
    start: str
    slot_hours: float
    n_slots: int
    n_devices: int
    stored_bytes: int
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, dataset: Dataset, dataset_id: str, name: str, owner: str, source_format: str, stored_bytes: int
    ) -> "DatasetSummary":
        """The summary of a parsed dataset."""
        return cls(
            dataset_id=dataset_id,
            name=name,
            owner=owner,
            created_at=utc_now(),
            source_format=source_format,
            prosumers=dataset.user_names,
            flex_requests=tuple(sorted(dataset.flex_requests)),
            start=dataset.grid.start.isoformat(),
            slot_hours=dataset.grid.dt_hours,
            n_slots=dataset.grid.n_slots,
            n_devices=len(dataset.devices.name),
            stored_bytes=stored_bytes,
            warnings=dataset.warnings,
        )

    @property
    def grid(self) -> SlotGrid:
        """The data's slots."""
        return SlotGrid(start=datetime.fromisoformat(self.start), dt_hours=self.slot_hours, n_slots=self.n_slots)

    def to_json(self) -> JsonObject:
        """Stored form (every field)."""
        return {
            "dataset_id": self.dataset_id,
            "name": self.name,
            "owner": self.owner,
            "created_at": self.created_at,
            "source_format": self.source_format,
            "prosumers": list(self.prosumers),
            "flex_requests": list(self.flex_requests),
            "start": self.start,
            "slot_hours": self.slot_hours,
            "n_slots": self.n_slots,
            "n_devices": self.n_devices,
            "stored_bytes": self.stored_bytes,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: JsonObject) -> "DatasetSummary":
        """Inverse of :meth:`to_json`."""
        return cls(
            **{k: v for k, v in data.items() if k not in ("prosumers", "flex_requests", "warnings")},
            prosumers=tuple(data["prosumers"]),
            flex_requests=tuple(data["flex_requests"]),
            warnings=tuple(data["warnings"]),
        )


class DatasetStore:
    """Datasets in Redis, visible to their owner (or to everyone in a single-tenant deployment)."""

    def __init__(self, client: redis.Redis, binary: redis.Redis, job_key_prefix: str) -> None:
        self.redis = client
        self.binary = binary
        self.job_key_prefix = job_key_prefix
        self._delete = client.register_script(_DELETE)
        self._attach = client.register_script(_ATTACH)

    def save(self, summary: DatasetSummary, arrays: bytes) -> None:
        """Store a parsed dataset and index it."""
        score = datetime.fromisoformat(summary.created_at).timestamp()
        with self.binary.pipeline() as pipe:  # MULTI/EXEC: readers see all of it or nothing
            pipe.set(ARRAYS_KEY.format(summary.dataset_id), arrays)
            pipe.hset(
                DATASET_KEY.format(summary.dataset_id),
                mapping={"summary": json.dumps(summary.to_json()), "owner": summary.owner},
            )
            pipe.zadd(ALL_INDEX, {summary.dataset_id: score})
            pipe.zadd(OWNER_INDEX.format(summary.owner), {summary.dataset_id: score})
            pipe.execute()

    def get(self, dataset_id: str, owner: str | None) -> DatasetSummary:
        """The dataset's summary; :class:`DatasetNotFoundError` if unknown or another owner's (``owner`` None: any)."""
        raw = self.redis.hget(DATASET_KEY.format(dataset_id), "summary")
        summary = DatasetSummary.from_json(json.loads(raw)) if raw else None
        if summary is None or (owner is not None and summary.owner != owner):
            raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}", field="dataset_id")
        return summary

    def arrays(self, dataset_id: str) -> bytes | None:
        """The parsed dataset (what workers load), or None once deleted."""
        data = self.binary.get(ARRAYS_KEY.format(dataset_id))
        return data if isinstance(data, bytes) else None

    def page(self, owner: str | None, limit: int, offset: int) -> tuple[list[DatasetSummary], int]:
        """A page of datasets, newest first, and how many there are."""
        index = ALL_INDEX if owner is None else OWNER_INDEX.format(owner)
        ids = [str(i) for i in self.redis.zrevrange(index, offset, offset + limit - 1)]
        with self.redis.pipeline() as pipe:
            for dataset_id in ids:
                pipe.hget(DATASET_KEY.format(dataset_id), "summary")
            rows = pipe.execute()
        summaries = [DatasetSummary.from_json(json.loads(row)) for row in rows if row]
        return summaries, int(self.redis.zcard(index))

    def use(self, dataset_id: str, job_id: str) -> None:
        """Record that ``job_id`` uses the dataset (so it cannot be deleted while the job is queued or running)."""
        if not self._attach(keys=[DATASET_KEY.format(dataset_id), USERS_KEY.format(dataset_id)], args=[job_id]):
            raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}", field="dataset")

    def delete(self, dataset_id: str, owner: str | None) -> None:
        """Delete the dataset and all of its data; 409 while a queued or running job uses it."""
        summary = self.get(dataset_id, owner)
        keys = [
            DATASET_KEY.format(dataset_id),
            ARRAYS_KEY.format(dataset_id),
            USERS_KEY.format(dataset_id),
            ALL_INDEX,
            OWNER_INDEX.format(summary.owner),
        ]
        outcome = self._delete(keys=keys, args=[dataset_id, self.job_key_prefix])
        if outcome == -1:
            raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}", field="dataset_id")
        if outcome != 1:
            job = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
            raise JobConflictError(
                f"dataset {dataset_id} is used by job {job}, which is queued or running; cancel it or wait",
                field="dataset_id",
            )

    def durability_problems(self) -> list[str]:
        """What in this Redis' configuration could lose datasets (empty if none, or if CONFIG is not allowed)."""
        try:
            config = {**self.redis.config_get("appendonly"), **self.redis.config_get("save")}
            config |= self.redis.config_get("maxmemory-policy")
        except redis.ResponseError:
            return []
        problems = []
        if config.get("appendonly") != "yes" and not config.get("save"):
            problems.append("Redis has neither an append-only file nor snapshots: a restart loses every dataset")
        if config.get("maxmemory-policy", "noeviction") != "noeviction":
            problems.append(f"Redis evicts keys (maxmemory-policy {config['maxmemory-policy']}): datasets may vanish")
        return problems
