"""The FlexGrid central DB's HTTP client (an Eve REST API behind OAuth2).

- OAuth2 password grant at ``{base}/oauth/token`` with the configured client id,
  username and password. The token is cached for all threads of the process,
  refreshed before ``expires_in`` runs out and once more on a 401.
- One pooled HTTP session with timeouts on every call; retries with
  exponential backoff and jitter on timeouts, connection errors and 5xx
  (tenacity), none on other 4xx.
- Collections are read with Eve ``where`` filters and every ``_links.next``
  page is followed.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from swagger_server.core.errors import DataSourceError

logger = structlog.get_logger(__name__)
#: An Eve document.
Document = dict[str, Any]

#: Refresh the token this many seconds (at most a tenth of its lifetime) before it expires.
REFRESH_MARGIN_S = 30.0


#: How much of an unexpected answer a message quotes.
ANSWER_EXCERPT = 200


class CentralDbUnavailable(DataSourceError):
    """The central DB could not be reached, or kept failing, after the retries."""


def is_transient(exc: BaseException) -> bool:
    """Timeouts, connection errors and 5xx answers are worth retrying; other 4xx are not."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


class TokenCache:
    """One OAuth2 access token shared by the threads of a process."""

    def __init__(self, fetch: Callable[[], tuple[str, float]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def get(self, *, stale: str | None = None) -> str:
        """A valid token; with ``stale``, replace that token even if it has not expired (after a 401)."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._refresh_at or self._token == stale:
                token, lifetime = self._fetch()
                margin = min(REFRESH_MARGIN_S, lifetime / 10)
                self._token, self._refresh_at = token, time.monotonic() + lifetime - margin
            return self._token


class CentralDbClient:
    """Reads Eve collections of the central DB."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        username: str,
        password: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        page_size: int,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._credentials = {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
        }
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            follow_redirects=False,
        )
        self._retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(retries),
            wait=wait_exponential_jitter(multiplier=backoff, max=max(backoff, 30.0), jitter=backoff),
            before_sleep=self._log_retry,
            reraise=True,
        )
        self.retries = retries
        self.page_size = page_size
        self.tokens = TokenCache(self._request_token)

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        outcome = state.outcome.exception() if state.outcome else None
        logger.warning(
            "central_db.retry", attempt=state.attempt_number, error=outcome, retry_in=round(state.upcoming_sleep, 3)
        )

    def _request_token(self) -> tuple[str, float]:
        def ask() -> httpx.Response:
            response = self._http.post(urljoin(self.base_url, "oauth/token"), data=self._credentials)
            response.raise_for_status()
            return response

        response = self._call(ask, "oauth/token")
        body = response.json()
        logger.info("central_db.token_refreshed", expires_in=body.get("expires_in"))
        return str(body["access_token"]), float(body.get("expires_in", 3600))

    def _call(self, attempt: Callable[[], httpx.Response], what: str) -> httpx.Response:
        try:
            return self._retrying(attempt)
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            if status >= 500:
                raise CentralDbUnavailable(
                    f"the central DB answered {status} to {what} {self.retries} times; try again later"
                ) from exc
            if status in (401, 403):
                raise CentralDbUnavailable(
                    f"the central DB refused our credentials ({status}) for {what}; check CENTRAL_DB_CLIENT_ID, "
                    "CENTRAL_DB_USERNAME and CENTRAL_DB_PASSWORD"
                ) from exc
            raise CentralDbUnavailable(
                f"the central DB answered {status} to {what}: {exc.response.text[:ANSWER_EXCERPT]}"
            ) from exc
        except httpx.TransportError as exc:
            raise CentralDbUnavailable(
                f"the central DB at {self.base_url} could not be reached for {what} after {self.retries} attempts "
                f"({type(exc).__name__}); try again later"
            ) from exc

    def _get(self, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        def with_token(token: str) -> httpx.Response:
            return self._http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})

        def attempt() -> httpx.Response:
            token = self.tokens.get()
            response = with_token(token)
            if response.status_code == 401:
                response = with_token(self.tokens.get(stale=token))
            response.raise_for_status()
            return response

        what = url.removeprefix(self.base_url).split("?")[0]
        response = self._call(attempt, what)
        try:
            data = response.json()
        except ValueError:  # a proxy's or another service's HTML page
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("_items"), list):
            raise CentralDbUnavailable(
                f"the central DB's answer to {what} is not an Eve page (JSON with _items): "
                f"{response.text[:ANSWER_EXCERPT]!r}; check CENTRAL_DB_BASE_URL"
            )
        return data

    def find(self, collection: str, where: dict[str, Any], projection: dict[str, int] | None = None) -> list[Document]:
        """Every document of ``collection`` matching ``where``, following ``_links.next`` pages."""
        return list(self._pages(collection, where, projection))

    def _pages(self, collection: str, where: dict[str, Any], projection: dict[str, int] | None) -> Iterator[Document]:
        query = {"where": json.dumps(where), "max_results": str(self.page_size)}
        if projection:
            query["projection"] = json.dumps(projection)
        params: dict[str, str] | None = query
        url = urljoin(self.base_url, collection)
        pages = 0
        while url:
            body = self._get(url, params)
            pages += 1
            yield from body["_items"]
            following = body.get("_links", {}).get("next", {}).get("href")
            url = urljoin(self.base_url, following) if following else ""
            params = None  # the next link carries the query
        logger.debug("central_db.read", collection=collection, pages=pages)

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()
