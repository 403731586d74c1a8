"""The task boundary: internal failures end FAILURE; tracebacks reach clients only with DEBUG."""

import uuid
from datetime import datetime

import pytest

from swagger_server.adapters.callbacks import Allowlist
from swagger_server.adapters.data_source import JobDocuments, SampleDataSource, UnknownNames
from swagger_server.adapters.job_store import JobRecord, JobStatus, JobStore, utc_now
from swagger_server.pricing_service import PricingService
from tests.api.test_validation import README_JOB
from workers.pricing import run_job_guarded

pytestmark = pytest.mark.integration


class BrokenSource:
    """A data source whose storage fails in a way no user can fix."""

    def unknown_names(self, prosumers: list[str], flex_request: str) -> UnknownNames:
        return UnknownNames([], None)

    def fetch(self, prosumers: list[str], flex_request: str, start: datetime, end: datetime) -> JobDocuments:
        raise OSError("disk on fire")


def new_job(store: JobStore) -> str:
    record = JobRecord(
        job_id=str(uuid.uuid4()), status=JobStatus.PENDING, request=dict(README_JOB), submitted_at=utc_now()
    )
    store.create(record)
    return record.job_id


def service(store: JobStore, debug: bool) -> PricingService:
    return PricingService(
        store,
        BrokenSource(),
        lambda _: None,
        lambda _: None,
        max_horizon_days=7,
        show_tracebacks=debug,
        callback_allowlist=Allowlist.parse([]),
    )


def test_internal_failure_is_stored_and_traceback_shown_only_in_debug(redis_url: str) -> None:
    store = JobStore.from_url(redis_url, retention_days=1)
    job_id = new_job(store)
    with pytest.raises(OSError):
        run_job_guarded(job_id, store, BrokenSource(), soft_time_limit=60)
    record = store.get(job_id)
    assert record.status is JobStatus.FAILURE
    assert record.error == "internal error while running the job (OSError); it has been logged"
    assert "disk on fire" not in record.error
    assert service(store, debug=False).get(job_id)["traceback"] is None
    shown = service(store, debug=True).get(job_id)["traceback"]
    assert shown and "OSError: disk on fire" in shown


def test_redelivered_task_leaves_a_finished_job_alone(redis_url: str, service_sample_dir) -> None:  # type: ignore[no-untyped-def]
    store = JobStore.from_url(redis_url, retention_days=1)
    job_id = new_job(store)
    source = SampleDataSource(service_sample_dir)
    assert run_job_guarded(job_id, store, source, soft_time_limit=60) == "SUCCESS"
    first = store.get(job_id)
    assert run_job_guarded(job_id, store, source, soft_time_limit=60) == "SUCCESS"
    assert store.get(job_id) == first
