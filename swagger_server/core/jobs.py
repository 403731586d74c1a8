"""The typed objects a job is made of, shared by the API and the workers.

A :class:`JobRequest` is what a client asked for (validated), a
:class:`JobRecord` everything the service knows about one job, a
:class:`CallbackDelivery` the state of its callback with one
:class:`DeliveryAttempt` per try. They cross process boundaries as JSON
(``to_json``/``from_json``); nothing downstream reads a request by key.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

#: A JSON object as stored and served (the ``PricingData`` result of a job).
JsonObject = dict[str, Any]


def utc_now() -> str:
    """The current time as ISO 8601 with offset, millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class JobState(StrEnum):
    """Where a job is in its lifecycle; states only move forward (queued -> running -> an end).

    The values are what the job store keeps (Celery's words, as the first
    version stored them); clients see :attr:`label` as ``state`` and
    :attr:`status`, the original's three values, as ``status``.
    """

    QUEUED = "PENDING"
    RUNNING = "STARTED"
    SUCCEEDED = "SUCCESS"
    FAILED = "FAILURE"
    CANCELLED = "REVOKED"

    @property
    def label(self) -> str:
        """The ``state`` clients see: queued, running, succeeded, failed or cancelled."""
        return self.name.lower()

    @property
    def status(self) -> str:
        """The original's ``status``: PENDING until the job ends, then SUCCESS or FAILURE (cancelled included)."""
        if self in ACTIVE:
            return "PENDING"
        return "SUCCESS" if self is JobState.SUCCEEDED else "FAILURE"

    @classmethod
    def parse(cls, text: str) -> "JobState":
        """A state from a stored value or a client's filter: ``STARTED`` or ``running`` alike."""
        for state in cls:
            if text in (state.value, state.label):
                return state
        raise ValueError(text)


#: States from which a job may still move.
ACTIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class CallbackRequest:
    """Where to POST the result, and the client's extra headers."""

    url: str
    headers: dict[str, str] | None = None

    def to_json(self) -> JsonObject:
        """The request's ``callback`` object."""
        return {"url": self.url} | ({"headers": dict(self.headers)} if self.headers is not None else {})


@dataclass(frozen=True)
class JobRequest:
    """A validated pricing request (``PricingParams`` of the contract, margin defaulted to 0).

    ``dataset`` names an uploaded dataset to read; None: the sample files or the central DB.
    """

    start_datetime: str
    end_datetime: str
    dr_prosumers: tuple[str, ...]
    flex_request: str
    profit_margin: float
    gamma_values: tuple[float, ...]
    callback: CallbackRequest | None = None
    dataset: str | None = None

    def to_json(self) -> JsonObject:
        """The request as stored with the job and shown to clients."""
        body: JsonObject = {
            "start_datetime": self.start_datetime,
            "end_datetime": self.end_datetime,
            "dr_prosumers": list(self.dr_prosumers),
            "flex_request": self.flex_request,
            "profit_margin": self.profit_margin,
            "gamma_values": list(self.gamma_values),
        }
        if self.callback is not None:
            body["callback"] = self.callback.to_json()
        if self.dataset is not None:
            body["dataset"] = self.dataset
        return body

    @classmethod
    def from_json(cls, data: JsonObject) -> "JobRequest":
        """Inverse of :meth:`to_json`."""
        callback = data.get("callback")
        return cls(
            start_datetime=str(data["start_datetime"]),
            end_datetime=str(data["end_datetime"]),
            dr_prosumers=tuple(str(name) for name in data["dr_prosumers"]),
            flex_request=str(data["flex_request"]),
            profit_margin=float(data["profit_margin"]),
            gamma_values=tuple(float(g) for g in data["gamma_values"]),
            callback=CallbackRequest(str(callback["url"]), callback.get("headers")) if callback else None,
            dataset=data.get("dataset"),
        )


Outcome = Literal["delivered", "retry", "failed"]
DeliveryState = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class DeliveryAttempt:
    """One callback delivery attempt, as recorded on the job."""

    at: str
    outcome: Outcome
    status: int | None = None
    error: str | None = None
    body: str = ""
    retry_after: float | None = None

    def to_json(self) -> JsonObject:
        """JSON form for the job record (the response body excerpt is kept out)."""
        values: JsonObject = {"at": self.at, "outcome": self.outcome, "status": self.status, "error": self.error}
        values["retry_after"] = self.retry_after
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_json(cls, data: JsonObject) -> "DeliveryAttempt":
        """Inverse of :meth:`to_json`."""
        return cls(
            at=str(data["at"]),
            outcome=data["outcome"],
            status=data.get("status"),
            error=data.get("error"),
            retry_after=data.get("retry_after"),
        )

    def result_text(self) -> str:
        """The original's readable ``callback_result``: ``status: 200`` and the body, or the error."""
        if self.status is not None:
            return f"status: {self.status}\n\n{self.body}"
        return f"error: {self.error}"


@dataclass(frozen=True)
class CallbackDelivery:
    """The delivery state of a job's callback: pending until delivered or given up."""

    url: str
    webhook_id: str
    state: DeliveryState = "pending"
    attempts: tuple[DeliveryAttempt, ...] = ()
    waited_seconds: float = 0.0
    reason: str | None = None

    def with_attempt(self, attempt: DeliveryAttempt) -> "CallbackDelivery":
        """This delivery with one more attempt recorded."""
        return replace(self, attempts=(*self.attempts, attempt))

    def to_json(self) -> JsonObject:
        """The ``CallbackDelivery`` object of the contract."""
        body: JsonObject = {
            "url": self.url,
            "webhook_id": self.webhook_id,
            "state": self.state,
            "attempts": [a.to_json() for a in self.attempts],
            "waited_seconds": self.waited_seconds,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        return body

    @classmethod
    def from_json(cls, data: JsonObject) -> "CallbackDelivery":
        """Inverse of :meth:`to_json`."""
        return cls(
            url=str(data["url"]),
            webhook_id=str(data["webhook_id"]),
            state=data["state"],
            attempts=tuple(DeliveryAttempt.from_json(a) for a in data.get("attempts", [])),
            waited_seconds=float(data.get("waited_seconds", 0.0)),
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class JobRecord:
    """Everything the service knows about one job.

    ``result`` is the job's ``PricingData`` (plots, raw data, warnings);
    ``callback_result`` the readable outcome of the latest callback attempt;
    ``owner`` who submitted it.
    """

    job_id: str
    state: JobState
    request: JobRequest
    submitted_at: str
    started_at: str | None = None
    date_done: str | None = None
    progress: float = 0.0
    result: JsonObject | None = None
    error: str | None = None
    traceback: str | None = None
    callback_result: str | None = None
    callback: CallbackDelivery | None = field(default=None)
    #: Who submitted it (the token check's ``sub``); "" when the check named no one.
    owner: str = ""
