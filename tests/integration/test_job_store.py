"""The job store on a real Redis: states only move forward, indexes follow them, keys are claimed once per caller."""

import hashlib
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from swagger_server.core.datasets import DatasetSummary
from swagger_server.core.errors import JobConflictError, JobNotFoundError
from swagger_server.core.job_store import (
    HEARTBEATS,
    JOB_KEY,
    JOBS_INDEX,
    OWNER_INDEX,
    STATE_INDEX,
    JobStore,
    fingerprint,
)
from swagger_server.core.jobs import CallbackDelivery, JobRecord, JobRequest, JobState, utc_now
from swagger_server.core.metrics import METRICS_KEY
from swagger_server.core.workspace import INPUT_KEY
from swagger_server.embedded import free_port
from tests.chaos.rig import PrivateRedis
from tests.jobs import README_JOB

pytestmark = pytest.mark.integration
RETENTION_DAYS = 2


@pytest.fixture
def store(redis_url: str) -> JobStore:
    return JobStore.from_url(redis_url, retention_days=RETENTION_DAYS)


def record(owner: str = "", **changes: object) -> JobRecord:
    request = JobRequest.from_json({**README_JOB, **changes})
    return JobRecord(str(uuid.uuid4()), JobState.QUEUED, request, utc_now(), owner=owner)


def indexed_in(store: JobStore, job_id: str, owner: str) -> set[str]:
    """The indexes that hold the job: '' (all jobs), state values, 'owner', 'owner:<state value>'."""
    found = {""} if store.redis.zscore(JOBS_INDEX, job_id) is not None else set()
    found |= {s.value for s in JobState if store.redis.zscore(STATE_INDEX + s.value, job_id) is not None}
    if store.redis.zscore(OWNER_INDEX + owner, job_id) is not None:
        found.add("owner")
    found |= {f"owner:{s.value}" for s in JobState if store.redis.zscore(f"{OWNER_INDEX}{owner}:{s.value}", job_id)}
    return found


def test_a_job_moves_forward_only_and_its_indexes_follow(store: JobStore) -> None:
    job = record(owner="ann")
    created, new = store.create(job)
    assert new and created == job and store.state(job.job_id) is JobState.QUEUED
    assert indexed_in(store, job.job_id, "ann") == {"", "PENDING", "owner", "owner:PENDING"}
    assert store.redis.ttl(JOB_KEY.format(job.job_id)) == -1  # kept while active

    assert not store.set_progress(job.job_id, 0.5)  # not running yet
    assert not store.mark_success(job.job_id, {"x": 1})  # a queued job cannot succeed
    assert store.mark_started(job.job_id) and store.mark_started(job.job_id)  # redelivery: still running
    started = store.get(job.job_id)
    assert started.state is JobState.RUNNING and started.started_at and started.progress == 0.0
    assert indexed_in(store, job.job_id, "ann") == {"", "STARTED", "owner", "owner:STARTED"}

    assert store.set_progress(job.job_id, 1 / 3)
    assert store.get(job.job_id, with_result=False).progress == round(1 / 3, 6)
    store.beat([job.job_id], 123.0)
    assert store.mark_success(job.job_id, {"plots": {}, "n": 2})
    done = store.get(job.job_id)
    assert done.state is JobState.SUCCEEDED and done.progress == 1.0 and done.result == {"plots": {}, "n": 2}
    assert done.date_done is not None and done.error is None
    assert store.get(job.job_id, with_result=False).result is None
    assert indexed_in(store, job.job_id, "ann") == {"", "SUCCESS", "owner", "owner:SUCCESS"}
    assert store.redis.zscore(HEARTBEATS, job.job_id) is None
    ttl = store.redis.ttl(JOB_KEY.format(job.job_id))
    assert RETENTION_DAYS * 86400 - 5 <= ttl <= RETENTION_DAYS * 86400  # kept for the retention period

    # Nothing moves a finished job back or over.
    assert not store.mark_started(job.job_id)
    assert not store.set_progress(job.job_id, 0.1)
    assert not store.mark_failure(job.job_id, "late")
    assert not store.mark_success(job.job_id, {"again": True})
    with pytest.raises(JobConflictError, match=f"job {job.job_id} already succeeded") as conflict:
        store.revoke(job.job_id)
    assert conflict.value.field == "job_id"
    assert store.get(job.job_id) == done


def test_failure_and_cancel_end_active_jobs_with_their_messages(store: JobStore) -> None:
    queued, running = record(owner="bo"), record(owner="bo")
    store.create(queued)
    store.create(running)
    store.mark_started(running.job_id)
    assert store.mark_failure(queued.job_id, "no data for user_1_High", "Traceback ...")
    failed = store.get(queued.job_id)
    assert (failed.state, failed.error, failed.traceback) == (
        JobState.FAILED,
        "no data for user_1_High",
        "Traceback ...",
    )
    assert failed.date_done is not None and failed.started_at is None
    assert indexed_in(store, queued.job_id, "bo") == {"", "FAILURE", "owner", "owner:FAILURE"}
    cancelled = store.revoke(running.job_id)
    assert cancelled.state is JobState.CANCELLED and "cancelled" in (cancelled.error or "")
    assert cancelled.date_done is not None
    assert indexed_in(store, running.job_id, "bo") == {"", "REVOKED", "owner", "owner:REVOKED"}
    assert 0 < store.redis.ttl(JOB_KEY.format(running.job_id)) <= RETENTION_DAYS * 86400
    assert not store.set_progress(running.job_id, 0.9)  # the worker hears the cancel
    with pytest.raises(JobConflictError, match="already cancelled"):
        store.revoke(running.job_id)
    with pytest.raises(JobConflictError, match="already failed"):
        store.revoke(queued.job_id)
    plain = record(owner="bo")
    store.create(plain)
    assert store.mark_failure(plain.job_id, "bad data")  # no traceback: none shown, not "None"
    assert store.get(plain.job_id).traceback is None


def test_unknown_jobs_are_named(store: JobStore) -> None:
    for call in (
        lambda: store.get("nope"),
        lambda: store.get("nope", with_result=False),
        lambda: store.mark_started("nope"),
        lambda: store.revoke("nope"),
    ):
        with pytest.raises(JobNotFoundError, match="no pricing job with id 'nope'") as missing:
            call()
        assert missing.value.field == "job_id"
    assert store.state("nope") is None


def test_an_idempotency_key_is_claimed_once_per_caller(store: JobStore) -> None:
    first = record(owner="ann")
    assert store.create(first, "key-1") == (first, True)
    again = record(owner="ann")  # a retry of the same request: a new id, the same body
    assert store.create(again, "key-1") == (store.get(first.job_id), False)
    assert store.state(again.job_id) is None  # nothing written for the retry
    other_body = record(owner="ann", gamma_values=[3.0])
    with pytest.raises(JobConflictError) as conflict:
        store.create(other_body, "key-1")
    assert str(conflict.value) == "this Idempotency-Key was already used with a different request body"
    assert conflict.value.field == "Idempotency-Key" and store.state(other_body.job_id) is None
    someone_else = record(owner="bo")
    assert store.create(someone_else, "key-1") == (someone_else, True)  # keys are per caller
    without_key = record(owner="ann")
    assert store.create(without_key) == (without_key, True)


def test_a_claimed_key_lives_as_long_as_the_retention(store: JobStore) -> None:
    job = record(owner="cy")
    store.create(job, "key-ttl")
    claims = [
        k
        for k in store.redis.scan_iter("pricing:idempotency:*")
        if store.redis.get(k) and job.job_id in str(store.redis.get(k))
    ]
    [claim] = claims
    assert json.loads(str(store.redis.get(claim))) == {
        "job_id": job.job_id,
        "fingerprint": fingerprint(job.request.to_json()),
    }
    assert RETENTION_DAYS * 86400 - 5 <= store.redis.ttl(claim) <= RETENTION_DAYS * 86400


def test_fingerprints_ignore_key_order_only() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1, "b": [1, 2]}) != fingerprint({"a": 1, "b": [2, 1]})
    # The documented form, which claims stored by an earlier version must still match after an upgrade.
    assert fingerprint({"b": [1, 2], "a": 1}) == hashlib.sha256(b'{"a":1,"b":[1,2]}').hexdigest()


def test_submits_and_ends_are_counted(store: JobStore) -> None:
    def counted(field: str) -> int:
        return int(store.redis.hget(METRICS_KEY, field) or 0)

    before = {f: counted(f) for f in ("submitted", "finished:SUCCESS", "finished:REVOKED", "job_duration_count")}
    job, repeat = record(owner="dee"), record(owner="dee")
    store.create(job, "key-m")
    store.create(repeat, "key-m")  # the same submit again: not a new job
    store.mark_started(job.job_id)
    store.mark_success(job.job_id, {})
    store.mark_success(job.job_id, {})  # a late repeat changes nothing
    cancelled = record(owner="dee")
    store.create(cancelled)
    store.revoke(cancelled.job_id)
    assert counted("submitted") == before["submitted"] + 2
    assert counted("finished:SUCCESS") == before["finished:SUCCESS"] + 1
    assert counted("finished:REVOKED") == before["finished:REVOKED"] + 1
    assert counted("job_duration_count") == before["job_duration_count"] + 2


def test_callback_attempts_are_due_until_the_delivery_ends(store: JobStore) -> None:
    job = record()
    store.create(job)
    store.mark_started(job.job_id)
    store.mark_success(job.job_id, {})
    store.expect_callback(job.job_id, 100.0)
    assert job.job_id in store.overdue_callbacks(100.0) and job.job_id not in store.overdue_callbacks(99.0)
    pending = CallbackDelivery(url="https://hooks.example/cb", webhook_id=f"msg_{job.job_id}")
    store.record_callback(job.job_id, pending, "status: 500", next_due=200.0)
    assert job.job_id not in store.overdue_callbacks(199.0) and job.job_id in store.overdue_callbacks(200.0)
    stored = store.get(job.job_id)
    assert stored.callback == pending and stored.callback_result == "status: 500"
    delivered = CallbackDelivery(url=pending.url, webhook_id=pending.webhook_id, state="delivered")
    store.record_callback(job.job_id, delivered, "status: 200\n\nthanks", next_due=300.0)
    assert job.job_id not in store.overdue_callbacks(float("inf"))
    assert store.get(job.job_id).callback == delivered


def test_a_heartbeat_that_arrives_after_its_job_finished_is_not_recorded(store: JobStore) -> None:
    """A worker's beat reads the tasks it holds, then writes; the job may finish in between (or the beat ride out a
    Redis restart and land after the finish: the chaos test that restarts Redis saw a finished job's heartbeat
    left behind). Only queued and running jobs get one, so the finish's removal stands."""
    queued, running, finished = record(), record(), record()
    for each in (queued, running, finished):
        store.create(each)
    store.mark_started(running.job_id)
    store.mark_started(finished.job_id)
    store.beat([finished.job_id], 100.0)
    assert store.redis.zscore(HEARTBEATS, finished.job_id) == 100.0
    assert store.mark_success(finished.job_id, {})
    assert store.redis.zscore(HEARTBEATS, finished.job_id) is None
    unknown = str(uuid.uuid4())
    store.beat([queued.job_id, running.job_id, finished.job_id, unknown, running.job_id], 200.0)
    assert store.redis.zscore(HEARTBEATS, queued.job_id) == 200.0
    assert store.redis.zscore(HEARTBEATS, running.job_id) == 200.0
    assert store.redis.zscore(HEARTBEATS, finished.job_id) is None
    assert store.redis.zscore(HEARTBEATS, unknown) is None
    beats = store.redis.zrange(HEARTBEATS, 0, -1, withscores=True)
    store.beat([], 300.0)  # a worker holding nothing writes nothing
    assert store.redis.zrange(HEARTBEATS, 0, -1, withscores=True) == beats


def test_active_jobs_carry_their_latest_sign_of_life(store: JobStore) -> None:
    queued, running, finished = record(), record(), record()
    for each in (queued, running, finished):
        store.create(each)
    store.mark_started(running.job_id)
    store.mark_started(finished.job_id)
    store.mark_failure(finished.job_id, "x")
    submitted = datetime.fromisoformat(queued.submitted_at).timestamp()
    store.beat([running.job_id, finished.job_id], submitted + 500.0)
    store.beat([queued.job_id], submitted - 500.0)  # an older beat than its submit time: the submit time counts
    active = store.active_jobs()
    assert active[queued.job_id] == pytest.approx(submitted)
    assert active[running.job_id] == submitted + 500.0
    assert finished.job_id not in active
    assert store.count_redrive(running.job_id) == 1 and store.count_redrive(running.job_id) == 2


def test_images_are_kept_as_long_as_their_job(store: JobStore) -> None:
    assert store.image("job-x", "UW_BAR") is None
    store.cache_image("job-x", "UW_BAR", b"\x89PNG")
    assert store.image("job-x", "UW_BAR") == b"\x89PNG"
    assert 0 < store.binary.ttl("pricing:image:job-x:UW_BAR") <= RETENTION_DAYS * 86400
    assert store.ping()


def test_job_duration_is_measured_from_the_submit(store: JobStore) -> None:
    job = record()
    job = JobRecord(job.job_id, job.state, job.request, (datetime.now(UTC) - timedelta(seconds=90)).isoformat())
    store.create(job)
    before = float(store.redis.hget(METRICS_KEY, "job_duration_sum") or 0.0)
    store.mark_failure(job.job_id, "x")
    took = float(store.redis.hget(METRICS_KEY, "job_duration_sum") or 0.0) - before
    assert 90 <= took < 150


def test_reads_cover_every_entry(store: JobStore) -> None:
    """Lists of active jobs, heartbeats and due callbacks are read whole (more than a pair, scores below 1 too)."""
    jobs = [record() for _ in range(4)]
    for each in jobs:
        store.create(each)
    submitted = datetime.fromisoformat(jobs[0].submitted_at).timestamp()
    store.beat([j.job_id for j in jobs], submitted + 1000.0)
    assert {j.job_id: store.active_jobs()[j.job_id] for j in jobs} == {j.job_id: submitted + 1000.0 for j in jobs}
    store.expect_callback(jobs[0].job_id, 0.5)
    assert jobs[0].job_id in store.overdue_callbacks(0.75)
    store.expect_callback(jobs[0].job_id, None)
    assert store.count_redrive(jobs[1].job_id) == 1
    assert store.redis.hget(JOB_KEY.format(jobs[1].job_id), "redrives") == "1"  # kept with the job


def test_a_job_reads_back_with_its_owner_and_an_earlier_version_s_record_with_defaults(store: JobStore) -> None:
    """Records written before jobs had an owner or a progress read as everyone's job at 0 % (as then)."""
    owned = record(owner="ann")
    store.create(owned)
    store.mark_started(owned.job_id)
    store.set_progress(owned.job_id, 0.25)
    back = store.get(owned.job_id)
    assert (back.owner, back.progress) == ("ann", 0.25)
    old = record()
    store.create(old)
    store.redis.hdel(JOB_KEY.format(old.job_id), "owner", "progress")  # as an earlier version stored it
    back = store.get(old.job_id)
    assert (back.owner, back.progress) == ("", 0.0)


def test_a_cancelled_job_says_how_it_was_cancelled(store: JobStore) -> None:
    job = record()
    store.create(job)
    assert store.revoke(job.job_id).error == "the job was cancelled (DELETE /pricing/{id}) before it finished"


def test_pages_are_per_owner_and_per_state(store: JobStore) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC)
    jobs = [
        JobRecord(
            str(uuid.uuid4()),
            JobState.QUEUED,
            record().request,
            (start + timedelta(seconds=k)).isoformat(),
            owner=owner,
        )
        for k in range(3)
    ]
    for each in jobs:
        store.create(each)
    store.mark_started(jobs[0].job_id)
    newest_first = [j.job_id for j in reversed(jobs)]
    assert [r.job_id for r in store.page(None, 10, 0, owner=owner)[0]] == newest_first
    assert store.page(None, 10, 0, owner=owner)[1] == 3
    running, total = store.page(JobState.RUNNING, 10, 0, owner=owner)
    assert [r.job_id for r in running] == [jobs[0].job_id] and total == 1
    assert [r.job_id for r in store.page(JobState.QUEUED, 1, 1, owner=owner)[0]] == [jobs[1].job_id]
    everyone = [r.job_id for r in store.page(JobState.RUNNING, 1000, 0)[0]]
    assert jobs[0].job_id in everyone and jobs[1].job_id not in everyone


def test_lists_read_one_page_from_per_state_indexes_and_drop_expired_jobs(embedded_redis_url: str) -> None:
    """On a Redis of its own, so that the totals are this test's."""
    store = JobStore.from_url(embedded_redis_url, retention_days=1)
    store.redis.flushdb()
    request = JobRequest.from_json({**README_JOB, "profit_margin": 34.4})
    ids = []
    for k in range(7):
        owner = "even" if k % 2 == 0 else "odd"
        record = JobRecord(
            job_id=f"job-{k}", state=JobState.QUEUED, request=request, submitted_at=utc_now(), owner=owner
        )
        store.create(record)
        ids.append(record.job_id)
    for job_id in ids[:4]:
        store.mark_started(job_id)
    store.mark_failure(ids[0], "bad data")
    store.revoke(ids[1])
    running, total = store.page(JobState.RUNNING, 10, 0)
    assert [r.job_id for r in running] == ["job-3", "job-2"] and total == 2
    assert [r.job_id for r in store.page(JobState.QUEUED, 2, 1)[0]] == ["job-5", "job-4"]
    assert [r.job_id for r in store.page(JobState.CANCELLED, 5, 0)[0]] == ["job-1"]
    # Each owner's indexes follow the same transitions.
    assert [r.job_id for r in store.page(JobState.RUNNING, 10, 0, owner="even")[0]] == ["job-2"]
    assert [r.job_id for r in store.page(JobState.FAILED, 10, 0, owner="even")[0]] == ["job-0"]
    assert store.page(JobState.FAILED, 10, 0, owner="odd") == ([], 0)
    assert [r.job_id for r in store.page(None, 10, 0, owner="odd")[0]] == ["job-5", "job-3", "job-1"]
    everything, total = store.page(None, 3, 0)
    assert [r.job_id for r in everything] == ["job-6", "job-5", "job-4"] and total == 7
    assert store.page(None, 0, 0) == ([], 7)  # never more than the limit, even none
    store.redis.delete("pricing:job:job-5", "pricing:job:job-4")  # expired meanwhile
    # A page after the first, meeting only expired jobs: it goes on from its offset, not from the start.
    assert [r.job_id for r in store.page(None, 2, 1)[0]] == ["job-3", "job-2"]
    page, total = store.page(None, 3, 0)
    assert [r.job_id for r in page] == ["job-6", "job-3", "job-2"] and total == 5  # filled up, expired dropped
    assert store.page(JobState.QUEUED, 5, 0) == ([store.get("job-6", with_result=False)], 1)
    assert [r.job_id for r in store.page(None, 5, 0, owner="odd")[0]] == ["job-3", "job-1"]  # job-5 expired
    assert store.page(None, 5, 0, owner="odd")[1] == 2
    store.redis.delete("pricing:job:job-3")  # the second of a 2-job page expires: one more is read, not more
    assert [r.job_id for r in store.page(None, 2, 0)[0]] == ["job-6", "job-2"]


def test_datasets_live_beside_the_jobs_that_hold_them(store: JobStore) -> None:
    """The store's datasets keep their arrays as bytes and see this store's jobs: one in use cannot be deleted."""
    dataset_id = f"ds-{uuid.uuid4()}"
    summary = DatasetSummary(
        dataset_id=dataset_id,
        name="portfolio.csv",
        owner="ann",
        created_at=utc_now(),
        source_format="csv",
        prosumers=("p1",),
        flex_requests=("r1",),
        start="2021-11-11T00:00:00+00:00",
        slot_hours=1.0,
        n_slots=24,
        n_devices=0,
        stored_bytes=7,
    )
    store.datasets.save(summary, b"\x00arrays")
    assert store.datasets.arrays(dataset_id) == b"\x00arrays"
    job = record(owner="ann")
    store.create(job)
    store.datasets.use(dataset_id, job.job_id)
    with pytest.raises(JobConflictError, match=f"used by job {job.job_id}, which is queued or running"):
        store.datasets.delete(dataset_id, "ann")
    store.mark_failure(job.job_id, "bad data")
    store.datasets.delete(dataset_id, "ann")  # the job has ended: it no longer holds the dataset
    assert store.datasets.arrays(dataset_id) is None


def test_a_store_that_rides_out_waits_through_a_redis_restart_and_gives_up_after_about_that_long(
    tmp_path: Path,
) -> None:
    """``ride_out_seconds``: the workers' store retries a command through a Redis restart (the API's fails fast).

    Its waits are jittered (each a random part of 0.1 s doubling to 2 s), so "about that long" is a range.
    """
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    riding, failing_fast = JobStore.from_url(server.url, 1, ride_out_seconds=6), JobStore.from_url(server.url, 1)
    job = record()
    riding.create(job)
    server.shut_down()
    began = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        failing_fast.state(job.job_id)
    assert time.monotonic() - began < 1.0  # at once (a refused connection), so the API answers 503 at once
    later = threading.Timer(0.5, server.start)
    later.start()
    try:
        assert riding.image(job.job_id, "UW_BAR") is None  # the binary client (arrays, images) rides it out too
        assert riding.state(job.job_id) is JobState.QUEUED  # the append-only file kept it
        later.join()
        server.shut_down()
        began = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            riding.state(job.job_id)
        gave_up_after = time.monotonic() - began
    finally:
        later.join()
        server.stop()
    assert 1.0 <= gave_up_after <= 15.0, gave_up_after  # 6 s: 8 retries, about 8 s (jitter), 11 s at most


def test_the_workspace_is_on_the_same_redis_and_expires(store: JobStore) -> None:
    workspace = store.workspace(123)
    job_id = str(uuid.uuid4())
    workspace.save_input(job_id, b"\x00parsed", [0.0, 1.5])
    assert workspace.load_input(job_id) == b"\x00parsed" and workspace.gammas(job_id) == [0.0, 1.5]
    assert 100 < store.redis.ttl(INPUT_KEY.format(job_id)) <= 123
