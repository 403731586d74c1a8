"""Liveness and readiness probes."""

from typing import Any

from BRTP import __version__ as VERSION
from swagger_server import dependencies


def health() -> dict[str, Any]:
    """The process answers."""
    settings = dependencies.current().settings
    return {"status": "ok", "mode": "sample-data" if settings.sample_data else "central-db", "version": VERSION}


def ready() -> tuple[dict[str, Any], int]:
    """Broker, job store and solver are usable."""
    checks = dependencies.current().readiness.run()
    healthy = all(value == "ok" for value in checks.values())
    return {"status": "ok" if healthy else "unavailable", "checks": checks, "version": VERSION}, 200 if healthy else 503
