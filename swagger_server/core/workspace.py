"""Per-job working data in Redis while a job's gammas are solved by several workers.

- ``pricing:input:<id>``: the parsed portfolio and flex request (bytes, stored
  once by the task that fetched the data; workers load it instead of fetching).
- ``pricing:gammas:<id>``: one field per gamma index with its KPIs (JSON); a
  redelivered task rewrites the same value.
- ``pricing:tasks:<id>``: ids of the job's solve tasks, so a cancel can revoke
  the ones still queued.
- ``pricing:starts:<id>``: per delivery of one of the job's tasks (its task id
  and retry number), how many times a worker started it, so a task whose
  process keeps dying ends its job.

Everything expires with ``ttl_seconds`` and is deleted when the job is assembled.
"""

import json
from typing import Any

import redis

INPUT_KEY = "pricing:input:{}"
GAMMAS_KEY = "pricing:gammas:{}"
TASKS_KEY = "pricing:tasks:{}"
STARTS_KEY = "pricing:starts:{}"


class JobWorkspace:
    """Working data of running jobs."""

    def __init__(self, client: redis.Redis, binary: redis.Redis, ttl_seconds: int) -> None:
        self.redis = client
        self.binary = binary
        self.ttl = ttl_seconds

    def save_input(self, job_id: str, data: bytes, gammas: list[float]) -> None:
        """Store the parsed job and its gamma list once."""
        with self.binary.pipeline() as pipe:
            pipe.set(INPUT_KEY.format(job_id), data, ex=self.ttl)
            pipe.hset(GAMMAS_KEY.format(job_id), "gammas", json.dumps(gammas))
            pipe.expire(GAMMAS_KEY.format(job_id), self.ttl)
            pipe.execute()

    def load_input(self, job_id: str) -> bytes | None:
        """The parsed job, or None if it expired or was cleared."""
        data = self.binary.get(INPUT_KEY.format(job_id))
        return data if isinstance(data, bytes) else None

    def has_input(self, job_id: str) -> bool:
        """True if the parsed job is stored (cheap: no transfer)."""
        return bool(self.binary.exists(INPUT_KEY.format(job_id)))

    def gammas(self, job_id: str) -> list[float]:
        """The job's gamma list (gamma 0 first)."""
        raw = self.redis.hget(GAMMAS_KEY.format(job_id), "gammas")
        return list(json.loads(raw)) if raw else []

    def save_gamma(self, job_id: str, index: int, kpis: dict[str, Any]) -> int:
        """Store one gamma's KPIs; returns how many gammas of the job are done."""
        key = GAMMAS_KEY.format(job_id)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, str(index), json.dumps(kpis))
            pipe.hlen(key)
            _, fields = pipe.execute()
        return int(fields) - 1  # minus the "gammas" field

    def done(self, job_id: str) -> set[int]:
        """Indices of the gammas already solved."""
        return {int(k) for k in self.redis.hkeys(GAMMAS_KEY.format(job_id)) if k != "gammas"}

    def results(self, job_id: str) -> dict[int, dict[str, Any]]:
        """Every solved gamma's KPIs by index."""
        raw = self.redis.hgetall(GAMMAS_KEY.format(job_id))
        return {int(k): json.loads(v) for k, v in raw.items() if k != "gammas"}

    def remember_tasks(self, job_id: str, task_ids: list[str]) -> None:
        """Record the job's solve tasks."""
        if task_ids:
            with self.redis.pipeline() as pipe:
                pipe.sadd(TASKS_KEY.format(job_id), *task_ids)
                pipe.expire(TASKS_KEY.format(job_id), self.ttl)
                pipe.execute()

    def task_ids(self, job_id: str) -> list[str]:
        """The job's solve task ids."""
        return sorted(str(task_id) for task_id in self.redis.smembers(TASKS_KEY.format(job_id)))

    def count_start(self, job_id: str, delivery: str) -> int:
        """Count one more start of the job's task ``delivery`` (task id and retry number); the count."""
        key = STARTS_KEY.format(job_id)
        with self.redis.pipeline() as pipe:
            pipe.hincrby(key, delivery, 1)
            pipe.expire(key, self.ttl)
            starts, _ = pipe.execute()
        return int(starts)

    def clear(self, job_id: str) -> None:
        """Drop the working data of a finished job."""
        keys = (INPUT_KEY, GAMMAS_KEY, TASKS_KEY, STARTS_KEY)
        self.redis.delete(*(key.format(job_id) for key in keys))
