"""Handlers of ``/pricing`` (the original's controller module name is kept)."""

from typing import Any

from connexion import request
from connexion.context import context

from swagger_server import dependencies
from swagger_server.core.errors import JobNotFoundError, RequestValidationError
from swagger_server.pricing_service import job_href

JSON = {"Content-Type": "application/json"}


def caller() -> str:
    """The identity of the caller (the token check's ``sub``): jobs are theirs unless the deployment is shared."""
    return str(context.get("user") or "")


Response = tuple[dict[str, Any], int, dict[str, str]]


def pricing_post(body: dict[str, Any]) -> Response:
    """Submit a job: 201 with its id and href (200 for a repeated Idempotency-Key)."""
    idempotency_key = request.headers.get("Idempotency-Key")
    record, created = dependencies.current().service.submit(body, idempotency_key, caller())
    href = job_href(record.job_id)
    return {"job_id": record.job_id, "href": href}, 201 if created else 200, {**JSON, "Location": href}


def pricing_get(job_id: str) -> Response:
    """Status, progress and result of a job; an unknown id is a 400, the one error the original declares here."""
    try:
        return dependencies.current().service.get(job_id, caller()), 200, JSON
    except JobNotFoundError as exc:
        raise RequestValidationError(exc.detail, field="job_id") from exc


def pricing_list(status: str | None = None, limit: int = 20, offset: int = 0) -> Response:
    """Jobs, newest first."""
    return dependencies.current().service.list(status, limit, offset, caller()), 200, JSON


def pricing_delete(job_id: str) -> Response:
    """Cancel a queued or running job."""
    return dependencies.current().service.cancel(job_id, caller()), 200, JSON


def pricing_plot(job_id: str, name: str) -> tuple[bytes, int, dict[str, str]]:
    """A plot of the result as PNG."""
    image = dependencies.current().service.plot_png(job_id, name, caller())
    return image, 200, {"Content-Type": "image/png", "Cache-Control": "private, max-age=86400"}


def _csv(body: str, filename: str) -> tuple[bytes, int, dict[str, str]]:
    """A CSV download (UTF-8 bytes, so that the declared media type is kept as it is)."""
    return body.encode(), 200, {"Content-Type": "text/csv", "Content-Disposition": f'attachment; filename="{filename}"'}


def pricing_raw_data_csv(job_id: str) -> tuple[bytes, int, dict[str, str]]:
    """KPIs per gamma as CSV."""
    return _csv(dependencies.current().service.raw_data_csv(job_id, caller()), f"{job_id}-raw_data.csv")


def pricing_consumption_csv(job_id: str) -> tuple[bytes, int, dict[str, str]]:
    """Initial and final consumption per slot as CSV."""
    return _csv(dependencies.current().service.consumption_csv(job_id, caller()), f"{job_id}-consumption.csv")
