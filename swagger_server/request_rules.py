"""A request body to a :class:`~swagger_server.core.jobs.JobRequest`: the domain rules JSON Schema cannot state.

The contract (``swagger/pricing.yml``) already checks types, required fields,
formats and sizes; these checks add, each in this one place: time zone
present, end after start, horizon length, finite numbers (JSON parsers accept
NaN and Infinity). As the original's contract allows, a null gamma value is
ignored (gamma 0 is always priced) and a repeated prosumer name counts once.
Names are checked against the data source by
:class:`~swagger_server.pricing_service.PricingService`.
"""

import math
from datetime import datetime, timedelta
from typing import Any

from BRTP import InvalidInputError
from BRTP.data.timestamps import parse_timestamp
from swagger_server.core.errors import RequestValidationError
from swagger_server.core.jobs import CallbackRequest, JobRequest


def _zoned(value: str, field: str) -> datetime:
    """The timestamp of ``field``, refused (naming the field) without a time zone."""
    try:
        return parse_timestamp(value, field, require_zone=True)
    except InvalidInputError as exc:
        raise RequestValidationError(str(exc).removeprefix(f"{field}: "), field=field) from exc


def job_request(body: dict[str, Any], max_horizon_days: int) -> JobRequest:
    """Check the domain rules and return the request as the job will store it."""
    start = _zoned(body["start_datetime"], "start_datetime")
    end = _zoned(body["end_datetime"], "end_datetime")
    if end <= start:
        raise RequestValidationError("end_datetime must be after start_datetime", field="end_datetime")
    if end - start > timedelta(days=max_horizon_days):
        raise RequestValidationError(
            f"the horizon is {(end - start).total_seconds() / 86400:.2f} days; at most {max_horizon_days} are allowed",
            field="end_datetime",
        )
    for index, gamma in enumerate(body["gamma_values"]):
        if gamma is not None and (not math.isfinite(gamma) or gamma < 0):
            raise RequestValidationError(f"{gamma} is not a finite number >= 0", field=f"gamma_values[{index}]")
    margin = body.get("profit_margin")
    if margin is None:
        margin = 0.0
    if not math.isfinite(margin) or margin < 0:
        raise RequestValidationError(f"{margin} is not a finite number >= 0", field="profit_margin")
    callback = body.get("callback")
    return JobRequest(
        start_datetime=body["start_datetime"],
        end_datetime=body["end_datetime"],
        dr_prosumers=tuple(dict.fromkeys(body["dr_prosumers"])),  # repeated names once, order kept
        flex_request=body["flex_request"],
        profit_margin=float(margin),
        gamma_values=tuple(float(g) for g in body["gamma_values"] if g is not None),
        callback=CallbackRequest(callback["url"], callback.get("headers")) if callback is not None else None,
        dataset=body.get("dataset"),
    )
