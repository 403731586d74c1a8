"""Timestamps: the one parser every input path uses (documents, requests, the central DB's queries)."""

from datetime import UTC, datetime

from BRTP.errors import InvalidInputError


def parse_timestamp(value: object, where: str, *, require_zone: bool = False) -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp (``Z`` accepted).

    A naive timestamp is taken as UTC, unless ``require_zone`` is set (the API
    asks for RFC 3339, where the zone is mandatory). Raises
    :class:`~BRTP.errors.InvalidInputError` naming ``where``.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise InvalidInputError(f"{where}: {value!r} is not an RFC 3339 date-time") from exc
    else:
        raise InvalidInputError(f"{where}: expected a timestamp, got {value!r}")
    if parsed.tzinfo is None:
        if require_zone:
            raise InvalidInputError(f"{where}: {value!r} has no time zone (add Z or +hh:mm)")
        return parsed.replace(tzinfo=UTC)
    return parsed


def utc_z(value: datetime | str) -> str:
    """A timestamp in UTC with a ``Z`` suffix and whole seconds, as the central DB stores them."""
    return parse_timestamp(value, "timestamp").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
