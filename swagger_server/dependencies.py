"""The objects a running app hands to its controllers and security functions.

Set once by :func:`swagger_server.app.create_app`; controllers stay plain
functions that Connexion resolves from the spec's operationIds.
"""

from dataclasses import dataclass

from swagger_server.auth import Authorizer
from swagger_server.pricing_service import PricingService
from swagger_server.readiness import ReadinessProbe
from swagger_server.settings import Settings


@dataclass
class Dependencies:
    """What the request handlers need."""

    settings: Settings
    service: PricingService
    authorizer: Authorizer
    readiness: ReadinessProbe


_current: Dependencies | None = None


def install(dependencies: Dependencies) -> None:
    """Make ``dependencies`` the ones handlers see."""
    global _current
    _current = dependencies


def current() -> Dependencies:
    """The installed dependencies."""
    if _current is None:
        raise RuntimeError("the app is not configured: call swagger_server.app.create_app() first")
    return _current
