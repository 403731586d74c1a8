"""Who may call the API: bearer-token checks behind one small interface.

- ``API_TOKENS`` set: exactly those tokens are accepted (any mode).
- sample-data mode without ``API_TOKENS``: any non-empty token, as in the
  FlexGrid original (a warning is logged at start).
"""

import logging
import secrets
from typing import Protocol

logger = logging.getLogger(__name__)

SCOPE = "post_pricing"
TokenInfo = dict[str, object]


class Authorizer(Protocol):
    """Checks a bearer token."""

    def check(self, token: str) -> TokenInfo | None:
        """Token info with the granted scopes, or None for an invalid token."""


class StaticTokens:
    """Accepts the configured tokens only (constant-time comparison)."""

    def __init__(self, tokens: frozenset[str]) -> None:
        self.tokens = tokens

    def check(self, token: str) -> TokenInfo | None:
        """Scope ``post_pricing`` for a configured token."""
        if any(secrets.compare_digest(token, known) for known in self.tokens):
            return {"sub": "api-token", "scope": [SCOPE]}
        return None


class AnyToken:
    """Sample-data mode: any non-empty token, as in the original."""

    def check(self, token: str) -> TokenInfo | None:
        """Scope ``post_pricing`` for any non-empty token."""
        return {"sub": "sample-data-user", "scope": [SCOPE]} if token.strip() else None


class NoTokens:
    """Nothing configured to check tokens with: every token is refused."""

    def check(self, token: str) -> TokenInfo | None:
        """Always None."""
        return None
