"""The job store: our own record of every job, in Redis.

It is the source of truth for status, progress, timestamps, idempotency keys
and results, so results outlive Celery's result expiry and restarts. Status
only moves forward (PENDING -> STARTED -> SUCCESS | FAILURE | REVOKED); every
transition is one atomic Lua script, so a redelivered or late task cannot move
a finished job back.

Keys: ``pricing:job:<id>`` (hash), ``pricing:jobs`` and ``pricing:jobs:<state>``
(sorted sets by submit time), the same per owner
(``pricing:jobs:owner:<owner>`` and ``...:<owner>:<state>``), ``pricing:idempotency:<key>``, and
``pricing:heartbeats`` (active jobs by the last time a worker held one of
their tasks; what the sweeper reads), ``pricing:callbacks:due`` (callbacks
still to deliver, by when their next attempt is due).
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from swagger_server.core.datasets import DatasetStore
from swagger_server.core.errors import JobConflictError, JobNotFoundError
from swagger_server.core.jobs import (
    ACTIVE,
    CallbackDelivery,
    JobRecord,
    JobRequest,
    JobState,
    JsonObject,
    utc_now,
)
from swagger_server.core.metrics import JobMetrics
from swagger_server.core.workspace import JobWorkspace

JOB_KEY = "pricing:job:{}"
JOBS_INDEX = "pricing:jobs"
#: Per-state indexes: ``pricing:jobs:<stored state>`` (sorted sets by submit time), as each owner's below.
STATE_INDEX = JOBS_INDEX + ":"
#: Per-owner indexes: ``pricing:jobs:owner:<owner>`` (all) and ``pricing:jobs:owner:<owner>:<state>``.
OWNER_INDEX = "pricing:jobs:owner:"
IDEMPOTENCY_KEY = "pricing:idempotency:{}"
IMAGE_KEY = "pricing:image:{}:{}"
HEARTBEATS = "pricing:heartbeats"
#: Callbacks still to deliver, by when their next attempt is due (seconds since the epoch).
PENDING_CALLBACKS = "pricing:callbacks:due"
SUMMARY_FIELDS = ["status", "request", "submitted_at", "started_at", "date_done", "progress", "error", "owner"]

# Set fields only if the current status is one of ARGV[1] (comma-separated).
# Returns 1 when applied, 0 when the status forbids it, -1 when the job is unknown.
# KEYS: the job's hash, the per-state index prefix, the per-owner index prefix. ARGV: the allowed states, the job id,
# then field/value pairs. A new status also moves the job from its old state's index to the new one's (its owner's too).
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return -1 end
for allowed in string.gmatch(ARGV[1], '[^,]+') do
  if current == allowed then
    redis.call('HSET', KEYS[1], unpack(ARGV, 3))
    local new = redis.call('HGET', KEYS[1], 'status')
    if new ~= current then
      local score = redis.call('HGET', KEYS[1], 'submitted_ts')
      local owner = redis.call('HGET', KEYS[1], 'owner')
      redis.call('ZREM', KEYS[2] .. current, ARGV[2])
      if score then redis.call('ZADD', KEYS[2] .. new, score, ARGV[2]) end
      if owner then
        redis.call('ZREM', KEYS[3] .. owner .. ':' .. current, ARGV[2])
        if score then redis.call('ZADD', KEYS[3] .. owner .. ':' .. new, score, ARGV[2]) end
      end
    end
    return 1
  end
end
return 0
"""


# Create a job and claim its idempotency key in one step, so no reader ever sees a key without its job.
# KEYS: the job's hash, the jobs index, its state's index, its owner's index, its owner's state index,
# [the idempotency key]. ARGV: job id, submit time (score), key lifetime (s), the claim, then the hash's
# field/value pairs. Returns the earlier claim when the key was taken (nothing is written), else nil.
_CREATE = """
if #KEYS == 6 then
  local earlier = redis.call('GET', KEYS[6])
  if earlier then return earlier end
  redis.call('SET', KEYS[6], ARGV[4], 'EX', ARGV[3])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
for i = 2, 5 do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1]) end
return false
"""


# Record a heartbeat only for jobs still queued or running: a beat that reaches Redis after its job finished (it
# read the worker's held tasks just before, or rode out a Redis restart) must not bring back the heartbeat the
# finish removed. KEYS: the heartbeats index, then each job's hash. ARGV: the time, the active states
# (comma-separated), then each job id in KEYS' order.
_BEAT = """
for i = 2, #KEYS do
  local status = redis.call('HGET', KEYS[i], 'status')
  if status then
    for active in string.gmatch(ARGV[2], '[^,]+') do
      if status == active then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i + 1]) end
    end
  end
end
return 0
"""


def _states(states: Iterable[JobState]) -> str:
    """States as the Lua scripts take them: comma-separated values."""
    return ",".join(state.value for state in states)


def fingerprint(body: JsonObject) -> str:
    """A stable hash of a request body, to tell a repeated request from a different one.

    SHA-256 of the compact, key-sorted JSON. Keep the form: idempotency claims
    stored by an earlier version are compared with it after an upgrade.
    """
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def record_from_hash(job_id: str, raw: dict[str, str]) -> JobRecord:
    """Decode a job's Redis hash."""
    return JobRecord(
        job_id=job_id,
        state=JobState(raw["status"]),
        request=JobRequest.from_json(json.loads(raw["request"])),
        submitted_at=raw["submitted_at"],
        started_at=raw.get("started_at") or None,
        date_done=raw.get("date_done") or None,
        progress=float(raw.get("progress", 0.0)),
        result=json.loads(raw["result"]) if raw.get("result") else None,
        error=raw.get("error") or None,
        traceback=raw.get("traceback") or None,
        callback_result=raw.get("callback_result") or None,
        callback=CallbackDelivery.from_json(json.loads(raw["callback"])) if raw.get("callback") else None,
        owner=raw.get("owner", ""),
    )


class JobStore:
    """Jobs in Redis; one instance per process, thread-safe (redis-py pools connections)."""

    def __init__(self, client: redis.Redis, binary: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.binary = binary
        self.retention_seconds = retention_seconds
        self.metrics = JobMetrics(client)
        #: Uploaded datasets, on the same Redis.
        self.datasets = DatasetStore(client, binary, JOB_KEY.format(""))
        self._transition = client.register_script(_TRANSITION)
        self._create = client.register_script(_CREATE)
        self._beat = client.register_script(_BEAT)

    @classmethod
    def from_url(cls, url: str, retention_days: int, *, ride_out_seconds: float = 0.0) -> "JobStore":
        """A store on the Redis at ``url``.

        With ``ride_out_seconds``, every command that meets a connection error
        is retried (redis-py's own retry, backoff from 0.1 s doubling to at most
        2 s apart) for about that long: the workers ride out a Redis restart
        instead of failing the task. The API keeps the default (fail fast, 503).
        """
        options: dict[str, Any] = {"socket_timeout": 10, "socket_connect_timeout": 5}
        if ride_out_seconds > 0:
            retries = 5 + int(ride_out_seconds / 2)  # 0.1 + 0.2 + ... + 1.6 s, then 2 s apart
            options["retry"] = Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries)
        return cls(
            redis.Redis.from_url(url, decode_responses=True, **options),
            redis.Redis.from_url(url, decode_responses=False, **options),
            retention_days * 86400,
        )

    def create(self, record: JobRecord, idempotency_key: str | None = None) -> tuple[JobRecord, bool]:
        """Store a new PENDING job; with an idempotency key seen before, return that job instead.

        Returns the job and whether it was created. Raises
        :class:`JobConflictError` when the key was used with a different body.
        """
        request_fingerprint = fingerprint(record.request.to_json())
        keys = [
            JOB_KEY.format(record.job_id),
            JOBS_INDEX,
            STATE_INDEX + record.state.value,
            OWNER_INDEX + record.owner,
            f"{OWNER_INDEX}{record.owner}:{record.state.value}",
        ]
        if idempotency_key:  # per owner: two callers' keys never meet
            claim_key = f"{record.owner}\n{idempotency_key}"
            keys.append(IDEMPOTENCY_KEY.format(hashlib.sha256(claim_key.encode()).hexdigest()))
        submitted = datetime.fromisoformat(record.submitted_at).timestamp()
        fields = {
            "status": record.state.value,
            "request": json.dumps(record.request.to_json()),
            "submitted_at": record.submitted_at,
            "submitted_ts": repr(submitted),
            "progress": str(record.progress),
            "owner": record.owner,
        }
        claim = json.dumps({"job_id": record.job_id, "fingerprint": request_fingerprint})
        args: list[str | float | int] = [
            record.job_id,
            submitted,
            self.retention_seconds,
            claim,
        ]
        args += [value for pair in fields.items() for value in pair]
        earlier = self._create(keys=keys, args=args)
        if earlier is not None:
            seen = json.loads(earlier)
            if seen.get("fingerprint") != request_fingerprint:
                raise JobConflictError(
                    "this Idempotency-Key was already used with a different request body", field="Idempotency-Key"
                )
            return self.get(seen["job_id"]), False
        self.metrics.job_submitted()
        return record, True

    def get(self, job_id: str, *, with_result: bool = True) -> JobRecord:
        """The job (without its result when ``with_result`` is false), or :class:`JobNotFoundError`."""
        key = JOB_KEY.format(job_id)
        raw: dict[str, str]
        if with_result:
            raw = {str(k): str(v) for k, v in self.redis.hgetall(key).items()}
        else:
            values = self.redis.hmget(key, SUMMARY_FIELDS)
            raw = {name: str(value) for name, value in zip(SUMMARY_FIELDS, values, strict=True) if value is not None}
        if not raw:
            raise JobNotFoundError(f"no pricing job with id {job_id!r}", field="job_id")
        return record_from_hash(job_id, raw)

    def state(self, job_id: str) -> JobState | None:
        """The job's state only (cheap), or None if unknown."""
        value = self.redis.hget(JOB_KEY.format(job_id), "status")
        return JobState(str(value)) if value else None

    def _apply(self, job_id: str, allowed: tuple[JobState, ...], fields: dict[str, Any]) -> bool:
        args = [_states(allowed), job_id]
        for name, value in fields.items():
            args += [name, "" if value is None else str(value)]
        outcome = int(self._transition(keys=[JOB_KEY.format(job_id), STATE_INDEX, OWNER_INDEX], args=args))
        if outcome < 0:
            raise JobNotFoundError(f"no pricing job with id {job_id!r}", field="job_id")
        return outcome == 1

    def mark_started(self, job_id: str) -> bool:
        """PENDING (or STARTED, on redelivery) -> STARTED; False if the job is finished or revoked."""
        return self._apply(job_id, ACTIVE, {"status": JobState.RUNNING.value, "started_at": utc_now()})

    def set_progress(self, job_id: str, fraction: float) -> bool:
        """Record progress of a STARTED job; False once the job was cancelled (the worker should stop)."""
        return self._apply(job_id, (JobState.RUNNING,), {"progress": round(fraction, 6)})

    def mark_success(self, job_id: str, result: JsonObject) -> bool:
        """STARTED -> SUCCESS with the result."""
        done = self._apply(
            job_id,
            (JobState.RUNNING,),
            {"status": JobState.SUCCEEDED.value, "progress": 1.0, "date_done": utc_now(), "result": json.dumps(result)},
        )
        if done:
            self._finished(job_id, JobState.SUCCEEDED)
        return done

    def mark_failure(self, job_id: str, error: str, traceback: str | None = None) -> bool:
        """PENDING/STARTED -> FAILURE with a message a user can act on."""
        done = self._apply(
            job_id,
            ACTIVE,
            {"status": JobState.FAILED.value, "date_done": utc_now(), "error": error, "traceback": traceback},
        )
        if done:
            self._finished(job_id, JobState.FAILED)
        return done

    def record_callback(
        self, job_id: str, delivery: CallbackDelivery, result_text: str, next_due: float | None = None
    ) -> None:
        """Record the callback's delivery state and the readable ``callback_result`` of a SUCCESS job.

        ``next_due`` is when the next attempt is due while the delivery is pending.
        """
        self._apply(
            job_id, (JobState.SUCCEEDED,), {"callback": json.dumps(delivery.to_json()), "callback_result": result_text}
        )
        self.expect_callback(job_id, next_due if delivery.state == "pending" else None)

    def expect_callback(self, job_id: str, due: float | None) -> None:
        """Note that the job's callback has an attempt due at ``due``; None: nothing more to deliver."""
        if due is None:
            self.redis.zrem(PENDING_CALLBACKS, job_id)
        else:
            self.redis.zadd(PENDING_CALLBACKS, {job_id: due})

    def overdue_callbacks(self, before: float) -> list[str]:
        """Jobs whose callback attempt was due before ``before`` and has not been made."""
        return [str(job_id) for job_id in self.redis.zrangebyscore(PENDING_CALLBACKS, 0, before)]

    def revoke(self, job_id: str) -> JobRecord:
        """PENDING/STARTED -> REVOKED; :class:`JobConflictError` if the job already finished."""
        cancelled = {
            "status": JobState.CANCELLED.value,
            "date_done": utc_now(),
            "error": "the job was cancelled (DELETE /pricing/{id}) before it finished",
        }
        if not self._apply(job_id, ACTIVE, cancelled):
            record = self.get(job_id)
            raise JobConflictError(f"job {job_id} already {record.state.label}", field="job_id")
        self._finished(job_id, JobState.CANCELLED)
        return self.get(job_id)

    def page(
        self, state: JobState | None, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[JobRecord], int]:
        """A page of jobs, newest first, optionally of one state and one owner; and the number matching.

        O(page): the index of that state (or of all jobs), everyone's or the
        owner's, is a sorted set by submit time, kept by the same scripts that
        change a job's state. Jobs expired since (their hash is gone) are
        dropped from the indexes when a page meets them, and the page is
        filled up from further on.
        """
        base = JOBS_INDEX if owner is None else OWNER_INDEX + owner
        index = base if state is None else f"{base}:{state.value}"
        records: list[JobRecord] = []
        start = offset
        while len(records) < limit:
            ids = [str(i) for i in self.redis.zrevrange(index, start, start + limit - len(records) - 1)]
            if not ids:
                break
            with self.redis.pipeline() as pipe:
                for job_id in ids:
                    pipe.hmget(JOB_KEY.format(job_id), SUMMARY_FIELDS)
                rows = pipe.execute()
            expired = [job_id for job_id, row in zip(ids, rows, strict=True) if row[0] is None]
            if expired:
                with self.redis.pipeline() as pipe:
                    pipe.zrem(JOBS_INDEX, *expired)
                    for each in JobState:
                        pipe.zrem(STATE_INDEX + each.value, *expired)
                    if owner is not None:
                        pipe.zrem(base, *expired)
                        for each in JobState:
                            pipe.zrem(f"{base}:{each.value}", *expired)
                    pipe.execute()
            for job_id, row in zip(ids, rows, strict=True):
                if row[0] is not None:
                    raw = {
                        name: str(value) for name, value in zip(SUMMARY_FIELDS, row, strict=True) if value is not None
                    }
                    records.append(record_from_hash(job_id, raw))
            start += len(ids) - len(expired)
        return records, int(self.redis.zcard(index))

    def beat(self, job_ids: Iterable[str], at: float) -> None:
        """Record that a worker holds a task of each of ``job_ids`` at time ``at`` (seconds since the epoch).

        Only jobs still queued or running get one (in one step with reading their state): a finished job's
        heartbeat, removed when it finished, stays removed.
        """
        ids = list(dict.fromkeys(job_ids))
        if ids:
            keys = [HEARTBEATS, *(JOB_KEY.format(job_id) for job_id in ids)]
            self._beat(keys=keys, args=[at, _states(ACTIVE), *ids])

    def active_jobs(self) -> dict[str, float]:
        """Every queued or running job with its last sign of life: its latest heartbeat, else its submit time."""
        with self.redis.pipeline() as pipe:
            for state in (JobState.QUEUED, JobState.RUNNING):
                pipe.zrange(STATE_INDEX + state.value, 0, -1, withscores=True)
            pipe.zrange(HEARTBEATS, 0, -1, withscores=True)
            queued, running, beats = pipe.execute()
        last = {str(job_id): float(score) for job_id, score in [*queued, *running]}
        for job_id, score in beats:
            if str(job_id) in last:
                last[str(job_id)] = max(last[str(job_id)], float(score))
        return last

    def count_redrive(self, job_id: str) -> int:
        """Count one more time the sweeper drove a stuck job on; returns the total."""
        return int(self.redis.hincrby(JOB_KEY.format(job_id), "redrives", 1))

    def image(self, job_id: str, name: str) -> bytes | None:
        """A rendered image cached with the job, if any."""
        data = self.binary.get(IMAGE_KEY.format(job_id, name))
        return data if isinstance(data, bytes) else None

    def cache_image(self, job_id: str, name: str, data: bytes) -> None:
        """Keep a rendered image as long as the job."""
        self.binary.set(IMAGE_KEY.format(job_id, name), data, ex=self.retention_seconds)

    def workspace(self, ttl_seconds: int) -> "JobWorkspace":
        """Working data of running jobs, on the same Redis."""
        return JobWorkspace(self.redis, self.binary, ttl_seconds)

    def ping(self) -> bool:
        """True if Redis answers."""
        return bool(self.redis.ping())

    def _finished(self, job_id: str, state: JobState) -> None:
        """Keep a finished job for the retention period and count it."""
        key = JOB_KEY.format(job_id)
        self.redis.expire(key, self.retention_seconds)
        self.redis.zrem(HEARTBEATS, job_id)
        submitted = self.redis.hget(key, "submitted_at")
        duration = datetime.now(UTC) - datetime.fromisoformat(str(submitted)) if submitted else None
        self.metrics.job_finished(state.value, duration.total_seconds() if duration else 0.0)
