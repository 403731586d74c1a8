"""The objects a running app hands to its controllers, pages and security functions.

Each app installs its own :class:`Dependencies` for the requests it serves
(an ASGI middleware sets a context variable), so handlers stay plain
functions that Connexion resolves from the spec's operationIds, and two apps
in one process (as in the tests) do not see each other's.
"""

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from swagger_server.auth import Authorizer
from swagger_server.core.settings import Settings
from swagger_server.dataset_service import DatasetService
from swagger_server.pricing_service import PricingService
from swagger_server.readiness import ReadinessProbe


@dataclass
class Dependencies:
    """What the request handlers need."""

    settings: Settings
    service: PricingService
    datasets: DatasetService
    authorizer: Authorizer
    readiness: ReadinessProbe


_current: ContextVar[Dependencies] = ContextVar("pricing_dependencies")


class InstallDependencies:
    """ASGI middleware: make ``dependencies`` the ones this app's handlers see."""

    def __init__(self, app: ASGIApp, dependencies: Dependencies) -> None:
        self.app = app
        self.dependencies = dependencies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with this app's dependencies."""
        token = _current.set(self.dependencies)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def current() -> Dependencies:
    """The dependencies of the app serving this request."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("no app is serving this request: build it with swagger_server.app.create_app()") from None
