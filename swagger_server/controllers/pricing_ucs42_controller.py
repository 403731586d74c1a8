"""Handlers of ``/pricing`` (the original's controller module name is kept)."""

from typing import Any

from connexion import request

from swagger_server import dependencies
from swagger_server.pricing_service import job_href

JSON = {"Content-Type": "application/json"}
Response = tuple[dict[str, Any], int, dict[str, str]]


def pricing_post(body: dict[str, Any]) -> Response:
    """Submit a job: 201 with its id and href (200 for a repeated Idempotency-Key)."""
    idempotency_key = request.headers.get("Idempotency-Key")
    record, created = dependencies.current().service.submit(body, idempotency_key)
    href = job_href(record.job_id)
    return {"job_id": record.job_id, "href": href}, 201 if created else 200, {**JSON, "Location": href}


def pricing_get(job_id: str) -> Response:
    """Status, progress and result of a job."""
    return dependencies.current().service.get(job_id), 200, JSON


def pricing_list(status: str | None = None, limit: int = 20, offset: int = 0) -> Response:
    """Jobs, newest first."""
    return dependencies.current().service.list(status, limit, offset), 200, JSON


def pricing_delete(job_id: str) -> Response:
    """Cancel a queued or running job."""
    return dependencies.current().service.cancel(job_id), 200, JSON
