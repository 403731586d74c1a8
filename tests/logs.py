"""Reading the service's structured log events out of ``caplog`` (see the ``service_logs`` fixture)."""

from typing import Any

import pytest


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """The fields of every captured event called ``name`` (structlog's event dicts), in order."""
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == name]
