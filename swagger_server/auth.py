"""Who may call the API: bearer-token checks behind one small async interface.

- ``API_TOKENS`` set: exactly those tokens are accepted (any mode).
- sample-data mode without ``API_TOKENS``: any non-empty token, as in the
  FlexGrid original (a warning is logged at start).
- central-DB mode: the central DB's ``/authorization/`` endpoint decides (as
  the original did), or an RFC 7662 introspection endpoint when configured.
  Answers are cached for a short TTL and concurrent checks of one token share
  one call, so a burst of requests makes one check; checks are async and never
  block the server's event loop.
"""

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx
import structlog
from cachetools import TTLCache

logger = structlog.get_logger(__name__)

SCOPE = "post_pricing"
#: Token answers kept at most (per process).
CACHE_SIZE = 10_000
TokenInfo = dict[str, object]


class Authorizer(Protocol):
    """Checks a bearer token for a request."""

    async def check(self, token: str, method: str, path: str) -> TokenInfo | None:
        """Token info with the granted scopes, or None for a missing or invalid token."""


def token_identity(token: str) -> str:
    """Who a configured (long-lived) token is: the token itself, kept as a hash (never stored in clear)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:24]


class StaticTokens:
    """Accepts the configured tokens only (constant-time comparison)."""

    def __init__(self, tokens: frozenset[str]) -> None:
        self.tokens = tokens

    async def check(self, token: str, method: str, path: str) -> TokenInfo | None:
        """Scope ``post_pricing`` for a configured token."""
        if any(secrets.compare_digest(token, known) for known in self.tokens):
            return {"sub": token_identity(token), "scope": [SCOPE]}
        return None


class AnyToken:
    """Sample-data mode: any non-empty token, as in the original."""

    async def check(self, token: str, method: str, path: str) -> TokenInfo | None:
        """Scope ``post_pricing`` for any non-empty token."""
        return {"sub": token_identity(token), "scope": [SCOPE]} if token.strip() else None


class CachedRemoteCheck:
    """A remote token check with a TTL cache and single-flight per (token, method, resource)."""

    def __init__(self, ask: Callable[[str, str, str], Awaitable[TokenInfo | None]], ttl_seconds: float) -> None:
        self._ask = ask
        # Bounded: a flood of random tokens evicts the oldest answers instead of growing the process.
        self._cache: TTLCache[tuple[str, str, str], tuple[TokenInfo | None]] = TTLCache(CACHE_SIZE, ttl_seconds)
        self._inflight: dict[tuple[str, str, str], asyncio.Future[TokenInfo | None]] = {}

    async def check(self, token: str, method: str, path: str) -> TokenInfo | None:
        """The cached answer, or one remote call shared by every concurrent caller."""
        if not token.strip():
            return None
        key = (token, method.lower(), resource_of(path))
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._remember(key))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(pending)

    async def _remember(self, key: tuple[str, str, str]) -> TokenInfo | None:
        info = await self._ask(*key)
        self._cache[key] = (info,)
        return info


def resource_of(path: str) -> str:
    """The resource a path belongs to, for the central DB's check: ``/pricing/abc`` -> ``/pricing``."""
    parts = [p for p in path.split("/") if p]
    return "/" + parts[0] if parts else "/"


def central_db_authorizer(base_url: str, ttl_seconds: float, timeout: float = 5.0) -> CachedRemoteCheck:
    """The original's check: ``GET {base}/authorization/?token=&resource=&method=`` answers ``OK``."""
    url = f"{base_url.rstrip('/')}/authorization/"

    async def ask(token: str, method: str, resource: str) -> TokenInfo | None:
        # A client per check: checks are rare (cached), and a client must not outlive its event loop.
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.get(url, params={"token": token, "resource": resource, "method": method})
        except httpx.HTTPError as exc:
            logger.warning("auth.central_db_unreachable", error=exc)
            return None
        if response.status_code == 200 and response.text.strip().strip('"') == "OK":
            # The check names no one, and OAuth tokens are short-lived: no identity (jobs and datasets are shared).
            return {"sub": "", "scope": [SCOPE]}
        return None

    return CachedRemoteCheck(ask, ttl_seconds)


def introspection_authorizer(url: str, client_id: str, client_secret: str, ttl_seconds: float) -> CachedRemoteCheck:
    """RFC 7662 token introspection: an active token needs the ``post_pricing`` scope (else 403)."""
    auth = (client_id, client_secret) if client_id else None

    async def ask(token: str, method: str, resource: str) -> TokenInfo | None:
        try:
            async with httpx.AsyncClient(timeout=5.0, auth=auth) as client:
                response = await client.post(url, data={"token": token, "token_type_hint": "access_token"})
            body = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("auth.introspection_failed", error=exc)
            return None
        if not body.get("active"):
            return None
        identity = str(body.get("sub") or body.get("username") or "")  # none named: no identity
        return {"sub": identity, "scope": str(body.get("scope", "")).split()}

    return CachedRemoteCheck(ask, ttl_seconds)
