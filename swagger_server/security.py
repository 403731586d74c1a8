"""Security functions named in ``swagger/pricing.yml`` (``x-tokenInfoFunc``)."""

from swagger_server import dependencies
from swagger_server.auth import TokenInfo


def token_info(token: str) -> TokenInfo | None:
    """Connexion's token-info hook: the installed authorizer decides."""
    return dependencies.current().authorizer.check(token)
