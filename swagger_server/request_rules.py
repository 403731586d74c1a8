"""Domain rules of a pricing request that JSON Schema cannot state.

The contract (``swagger/pricing.yml``) already checks types, required fields,
formats and sizes; these checks add: time zone present, end after start,
horizon length, finite numbers (JSON parsers accept NaN and Infinity).
"""

import math
from datetime import datetime, timedelta
from typing import Any

from swagger_server.exceptions import RequestValidationError


def parse_datetime(value: str, field: str) -> datetime:
    """An RFC 3339 date-time that carries a time zone."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise RequestValidationError(f"{value!r} is not an RFC 3339 date-time", field=field) from exc
    if parsed.tzinfo is None:
        raise RequestValidationError(f"{value!r} has no time zone (add Z or +hh:mm)", field=field)
    return parsed


def normalise_request(body: dict[str, Any], max_horizon_days: int) -> dict[str, Any]:
    """Check the domain rules and return the request as the job will store it."""
    start = parse_datetime(body["start_datetime"], "start_datetime")
    end = parse_datetime(body["end_datetime"], "end_datetime")
    if end <= start:
        raise RequestValidationError("end_datetime must be after start_datetime", field="end_datetime")
    if end - start > timedelta(days=max_horizon_days):
        raise RequestValidationError(
            f"the horizon is {(end - start).total_seconds() / 86400:.2f} days; at most {max_horizon_days} are allowed",
            field="end_datetime",
        )
    for index, gamma in enumerate(body["gamma_values"]):
        if not math.isfinite(gamma) or gamma < 0:
            raise RequestValidationError(f"{gamma} is not a finite number >= 0", field=f"gamma_values[{index}]")
    margin = body.get("profit_margin")
    if margin is None:
        margin = 0.0
    if not math.isfinite(margin) or margin < 0:
        raise RequestValidationError(f"{margin} is not a finite number >= 0", field="profit_margin")
    normalised = {
        "start_datetime": body["start_datetime"],
        "end_datetime": body["end_datetime"],
        "dr_prosumers": list(body["dr_prosumers"]),
        "flex_request": body["flex_request"],
        "profit_margin": float(margin),
        "gamma_values": [float(g) for g in body["gamma_values"]],
    }
    if body.get("callback") is not None:
        normalised["callback"] = body["callback"]
    return normalised
