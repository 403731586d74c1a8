"""A token given once in the browser, kept in an HttpOnly cookie, used like a bearer token.

:class:`CookieToBearer` copies the cookie into an ``Authorization`` header on
safe (GET/HEAD) requests that carry none, so images and CSV links in the pages
go through the same security as API clients. Unsafe methods never use the
cookie, so another site cannot make a browser submit or cancel jobs.
"""

from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "pricing_token"


def cookie_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session token from raw ASGI headers, if any."""
    for name, value in headers:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, token = part.strip().partition("=")
                if key == COOKIE and token:
                    return token
    return None


class CookieToBearer:
    """ASGI middleware: session cookie -> ``Authorization: Bearer`` for GET/HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header when the request is safe and has none."""
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            headers = list(scope["headers"])
            if not any(name == b"authorization" for name, _ in headers):
                token = cookie_token(headers)
                if token:
                    scope = dict(scope, headers=[*headers, (b"authorization", f"Bearer {token}".encode())])
        await self.app(scope, receive, send)
