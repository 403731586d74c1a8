"""Security functions named in ``swagger/pricing.yml`` (``x-tokenInfoFunc``)."""

from connexion.lifecycle import ConnexionRequest

from swagger_server import dependencies
from swagger_server.auth import TokenInfo


async def token_info(token: str, request: ConnexionRequest) -> TokenInfo | None:
    """Connexion's token-info hook: the installed authorizer decides (None: 401; no scope: 403)."""
    return await dependencies.current().authorizer.check(token, request.method, request.url.path)
