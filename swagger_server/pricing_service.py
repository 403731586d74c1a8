"""The pricing service: what the controllers call. Submit, read, list and cancel jobs.

It validates domain rules, writes the job record *before* queueing the task,
and never fetches bulk data or solves: that is the worker's job.
"""

import uuid
from collections.abc import Sequence
from typing import Protocol

import structlog

from BRTP.report.images import UnknownPlot, render_png
from BRTP.report.tables import consumption_csv, raw_data_csv
from swagger_server.core.callbacks import Allowlist, CallbackRefused, CallbackUnresolvable, check_url
from swagger_server.core.data_sources import DataSource
from swagger_server.core.errors import (
    JobConflictError,
    JobNotFoundError,
    RequestValidationError,
    ServiceUnavailableError,
)
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobRecord, JobState, JsonObject, utc_now
from swagger_server.dataset_service import DatasetService
from swagger_server.request_rules import job_request

logger = structlog.get_logger(__name__)


class Queue(Protocol):
    """Where accepted jobs go (:class:`swagger_server.job_queue.JobQueue`)."""

    def enqueue(self, job_id: str) -> None:
        """Queue the job (raises on broker failure)."""

    def revoke(self, job_id: str) -> None:
        """Drop the job's queued tasks (best effort)."""


def job_href(job_id: str) -> str:
    """The job's path."""
    return f"/pricing/{job_id}"


class PricingService:
    """Jobs of the pricing API."""

    def __init__(
        self,
        store: JobStore,
        source: DataSource,
        queue: Queue,
        datasets: DatasetService,
        *,
        max_horizon_days: int,
        show_tracebacks: bool,
        callback_allowlist: Allowlist,
        shared: bool = True,
    ) -> None:
        self.store = store
        self.source = source
        self.queue = queue
        self.datasets = datasets
        self.max_horizon_days = max_horizon_days
        self.show_tracebacks = show_tracebacks
        self.callback_allowlist = callback_allowlist
        self.shared = shared

    def submit(self, body: JsonObject, idempotency_key: str | None, identity: str = "") -> tuple[JobRecord, bool]:
        """Validate, record and queue a job; returns the job and whether it is new.

        A job on a dataset is checked against it (names, horizon) and recorded
        as using it, so the dataset cannot be deleted while the job waits or runs.
        """
        request = job_request(body, self.max_horizon_days)
        if request.dataset is not None:
            self.datasets.check_job(request.dataset, request, identity)
        else:
            self._check_names(request.dr_prosumers, request.flex_request)
        if request.callback is not None:
            self._check_callback(request.callback.url)
        record = JobRecord(
            job_id=str(uuid.uuid4()), state=JobState.QUEUED, request=request, submitted_at=utc_now(), owner=identity
        )
        if request.dataset is not None:
            self.datasets.store.use(request.dataset, record.job_id)
        record, created = self.store.create(record, idempotency_key)
        if not created:
            return record, False
        try:
            self.queue.enqueue(record.job_id)
        except Exception as exc:  # the broker's own errors vary by transport
            logger.exception("job.enqueue_failed", job_id=record.job_id)
            self.store.mark_failure(record.job_id, "the job could not be queued: the message broker is unreachable")
            raise ServiceUnavailableError("the job queue is unavailable; try again shortly") from exc
        logger.info("job.accepted", job_id=record.job_id, prosumers=len(request.dr_prosumers))
        return self.store.get(record.job_id), True

    def _check_names(self, prosumers: Sequence[str], flex_request: str) -> None:
        unknown = self.source.unknown_names(prosumers, flex_request)
        if unknown is None or not unknown:
            return
        if unknown.prosumers:
            shown = ", ".join(unknown.prosumers[:20]) + (" ..." if len(unknown.prosumers) > 20 else "")
            index = prosumers.index(unknown.prosumers[0])
            raise RequestValidationError(f"unknown prosumer name(s): {shown}", field=f"dr_prosumers[{index}]")
        raise RequestValidationError(f"unknown flex request name: {unknown.flex_request}", field="flex_request")

    def _check_callback(self, url: str) -> None:
        """Refuse a callback URL that resolves to a non-public address now (SSRF guard)."""
        try:
            check_url(url, self.callback_allowlist)
        except CallbackUnresolvable:
            return  # may resolve later; delivery checks again
        except CallbackRefused as exc:
            raise RequestValidationError(str(exc), field="callback.url") from exc

    def view(self, record: JobRecord) -> JsonObject:
        """The ``PricingJobResult`` body of a job, readable by clients of the original contract.

        ``status`` keeps the original's three values and ``state`` carries the
        finer lifecycle; fields the original declares non-nullable are left
        out until they have a value (``started_at``, ``date_done``,
        ``result.callback_result``), as the original's server did.
        """
        body: JsonObject = {
            "job_id": record.job_id,
            "status": record.state.status,
            "state": record.state.label,
            "progress": record.progress,
            "submitted_at": record.submitted_at,
            "request": record.request.to_json(),
            "error": record.error,
            "traceback": record.traceback if self.show_tracebacks else None,
        }
        for name in ("started_at", "date_done"):
            if getattr(record, name) is not None:
                body[name] = getattr(record, name)
        if record.result is not None:
            body["result"] = dict(record.result)
            if record.callback_result is not None:
                body["result"]["callback_result"] = record.callback_result
        if record.callback is not None:
            body["callback"] = record.callback.to_json()
        return body

    def _record(self, job_id: str, identity: str, *, with_result: bool = True) -> JobRecord:
        """The job, if the caller may see it: another owner's job is as unknown as one that never was."""
        record = self.store.get(job_id, with_result=with_result)
        if not self.shared and record.owner != identity:
            raise JobNotFoundError(f"no pricing job with id {job_id!r}", field="job_id")
        return record

    def get(self, job_id: str, identity: str = "") -> JsonObject:
        """A job's status, progress and result."""
        return self.view(self._record(job_id, identity))

    def list(self, status: str | None, limit: int, offset: int, identity: str = "") -> JsonObject:
        """A page of jobs, newest first; ``status`` filters on the lifecycle (``STARTED`` or ``running`` alike).

        Only the caller's own jobs unless the deployment is single-tenant.
        """
        owner = None if self.shared else identity
        records, total = self.store.page(JobState.parse(status) if status else None, limit, offset, owner)
        items = []
        for r in records:
            item: JsonObject = {
                "job_id": r.job_id,
                "href": job_href(r.job_id),
                "status": r.state.status,
                "state": r.state.label,
                "progress": r.progress,
                "submitted_at": r.submitted_at,
                "flex_request": r.request.flex_request,
                "n_prosumers": len(r.request.dr_prosumers),
            }
            if r.date_done is not None:
                item["date_done"] = r.date_done
            items.append(item)
        following = offset + limit
        query = f"&status={status}" if status else ""
        return {
            "items": items,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": f"/pricing?limit={limit}&offset={following}{query}" if following < total else None,
        }

    def cancel(self, job_id: str, identity: str = "") -> JsonObject:
        """Cancel a queued or running job: it ends cancelled (status FAILURE, with an error saying so)."""
        self._record(job_id, identity, with_result=False)
        record = self.store.revoke(job_id)
        self.queue.revoke(job_id)
        logger.info("job.revoked", job_id=job_id)
        return self.view(record)

    def _result(self, job_id: str, identity: str) -> JsonObject:
        record = self._record(job_id, identity)
        if record.state is not JobState.SUCCEEDED or record.result is None:
            raise JobConflictError(
                f"job {job_id} is {record.state.label}; results exist once it succeeded", field="job_id"
            )
        return record.result

    def plot_png(self, job_id: str, name: str, identity: str = "") -> bytes:
        """A plot of the result as PNG, rendered once and cached with the job."""
        if not self.shared:
            self._record(job_id, identity, with_result=False)
        cached = self.store.image(job_id, name)
        if cached is not None:
            return cached
        result = self._result(job_id, identity)
        try:
            image = render_png(result["plots"], name, result["raw_data"].get("USERS", []))
        except UnknownPlot as exc:
            raise JobNotFoundError(f"job {job_id} has no plot named {name!r}", field="name") from exc
        self.store.cache_image(job_id, name, image)
        return image

    def raw_data_csv(self, job_id: str, identity: str = "") -> str:
        """KPIs per gamma as CSV."""
        return raw_data_csv(self._result(job_id, identity)["raw_data"])

    def consumption_csv(self, job_id: str, identity: str = "") -> str:
        """Initial and final consumption per slot as CSV."""
        return consumption_csv(self._result(job_id, identity)["raw_data"])
