"""A small real HTTP server on 127.0.0.1 that behaves like the FlexGrid central DB (Eve + OAuth2).

Serves any document set (the generated sample or the real export) with:
``POST /oauth/token`` (password grant, expiring tokens), collection reads with
Eve ``where`` filters (equality, ``$in``, ``$gte``, ``$lt``), ``projection``,
``max_results`` / ``page`` pagination with ``_links.next``, and
``GET /authorization/`` answering ``OK`` or ``Unauthorized``. CORS is open so
that a browser on another origin (Swagger UI) can get a token.

Faults are injected per test: answer a status N times (or forever), delay a
request, revoke every token.
"""

import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

Documents = dict[str, list[dict[str, Any]]]
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Requested-With",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
}


@dataclass
class Fault:
    """Answer requests whose path starts with ``prefix``: ``status`` (or a delay) ``times`` times (None: forever)."""

    prefix: str
    status: int | None = None
    delay: float = 0.0
    times: int | None = 1
    skip: int = 0  # let this many matching requests through first
    #: An answer of another kind than Eve's error JSON (an HTML page, say), sent with ``status``.
    body: str | None = None
    #: A ``Location`` header to send with it (a redirect).
    location: str | None = None


@dataclass
class EveState:
    """What the fake central DB holds and how it misbehaves."""

    docs: Documents
    username: str = "aggregator"
    password: str = "s3cret"
    token_lifetime: float = 3600.0
    #: Whether token answers carry ``expires_in`` (RFC 6749 only recommends it).
    announce_lifetime: bool = True
    page_size_cap: int = 1000
    #: Eve's HATEOAS setting: off, pages carry no ``_links``.
    hateoas: bool = True
    tokens: dict[str, float] = field(default_factory=dict)
    scopes: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    #: Data requests a token serves before it is refused like an expired one (None: no limit).
    max_token_uses: int | None = None
    token_uses: Counter[str] = field(default_factory=Counter)
    #: The Authorization header of every introspection request (the client's credentials), and its form.
    introspection_credentials: list[str] = field(default_factory=list)
    introspection_forms: list[dict[str, str]] = field(default_factory=list)
    #: The form of every ``/oauth/token`` request (the client id is optional: Swagger UI's users send none).
    token_forms: list[dict[str, str]] = field(default_factory=list)
    #: ``/authorization/`` answers as a JSON string (``"OK"``, quotes included), as some deployments do.
    json_answers: bool = False
    #: Extra introspection claims of a token (``sub``, ``username``).
    claims: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_token(self, scope: str | None = "post_pricing", **claims: str) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        if scope is not None:
            self.scopes[token] = scope
        self.claims[token] = claims
        return token

    def token_valid(self, token: str) -> bool:
        expires = self.tokens.get(token)
        return expires is not None and expires > time.monotonic()

    def serves(self, token: str) -> bool:
        """True if a data request with ``token`` is answered; with ``max_token_uses``, a token is used up after
        that many (refused with 401, as an expired one is), whatever the clock says."""
        if not self.token_valid(token):
            return False
        with self.lock:
            self.token_uses[token] += 1
            return self.max_token_uses is None or self.token_uses[token] <= self.max_token_uses

    def revoke_all_tokens(self) -> None:
        self.tokens.clear()

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if not path.startswith(fault.prefix):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None


def matches(doc: dict[str, Any], where: dict[str, Any]) -> bool:
    """Eve/Mongo-style filter: equality, ``$in``, ``$gte``, ``$lt`` (strings compare as stored)."""
    for key, condition in where.items():
        value = doc.get(key)
        if isinstance(condition, dict):
            for op, operand in condition.items():
                if op == "$in" and value not in operand:
                    return False
                if op == "$gte" and not (value is not None and value >= operand):
                    return False
                if op == "$lt" and not (value is not None and value < operand):
                    return False
                if op not in ("$in", "$gte", "$lt"):
                    raise ValueError(f"unsupported operator {op}")
        elif value != condition:
            return False
    return True


def make_handler(state: EveState) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to ``state``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(
            self, status: int, body: Any, content_type: str = "application/json", headers: dict[str, str] | None = None
        ) -> None:
            payload = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for name, value in {**CORS, **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _fault(self) -> bool:
            path = urlparse(self.path).path.lstrip("/")
            state.calls[path.split("/")[0] or "/"] += 1
            fault = state.take_fault(path)
            if fault is None:
                return False
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status and fault.body is not None:
                location = {"Location": fault.location} if fault.location else {}
                self._send(fault.status, fault.body, "text/html; charset=utf-8", location)
                return True
            if fault.status:
                self._send(fault.status, {"_status": "ERR", "_error": {"code": fault.status, "message": "injected"}})
                return True
            return False

        def do_OPTIONS(self) -> None:
            self._send(204, "")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self._fault():
                return
            route = urlparse(self.path).path.rstrip("/")
            if route == "/oauth/introspect":
                state.introspection_credentials.append(self.headers.get("Authorization", ""))
                state.introspection_forms.append(form)
                token = form.get("token", "")
                if not state.token_valid(token):
                    self._send(200, {"active": False})
                    return
                answer: dict[str, Any] = {"active": True, **state.claims.get(token, {})}
                if state.scopes.get(token) is not None:
                    answer["scope"] = state.scopes[token]
                self._send(200, answer)
                return
            if route != "/oauth/token":
                self._send(404, {"_status": "ERR"})
                return
            state.token_forms.append(form)
            if form.get("grant_type") != "password" or (form.get("username"), form.get("password")) != (
                state.username,
                state.password,
            ):
                self._send(401, {"error": "invalid_client"})
                return
            token = state.issue_token(form.get("scope", "post_pricing"))
            self._send(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    **({"expires_in": state.token_lifetime} if state.announce_lifetime else {}),
                    "scope": "",
                    "refresh_token": secrets.token_urlsafe(8),
                },
            )

        def do_GET(self) -> None:
            if self._fault():
                return
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            path = url.path.strip("/")
            if path == "authorization":
                token = query.get("token", "")
                # A token without the post_pricing scope may read (get), not submit or cancel.
                allowed = query.get("method") == "get" or "post_pricing" in state.scopes.get(token, "").split()
                ok = state.token_valid(token) and query.get("resource") == "/pricing" and allowed
                answer = "OK" if ok else "Unauthorized"
                self._send(200, f'"{answer}"' if state.json_answers else answer, "text/html; charset=utf-8")
                return
            auth = self.headers.get("Authorization", "")
            if not (auth.startswith("Bearer ") and state.serves(auth[7:])):
                self._send(
                    401, {"_status": "ERR", "_error": {"code": 401, "message": "Please provide proper credentials"}}
                )
                return
            if path not in state.docs:
                self._send(404, {"_status": "ERR"})
                return
            where = json.loads(query.get("where", "{}"))
            page = int(query.get("page", 1))
            size = min(int(query.get("max_results", 25)), state.page_size_cap)
            found = [d for d in state.docs[path] if matches(d, where)]
            items = found[(page - 1) * size : page * size]
            projection = json.loads(query["projection"]) if "projection" in query else None
            if projection:
                items = [{k: v for k, v in d.items() if k in projection or k == "_id"} for d in items]
            links: dict[str, Any] = {"self": {"href": f"{path}?{url.query}"}}
            if page * size < len(found):
                following = dict(query, page=str(page + 1))
                links["next"] = {"title": "next page", "href": f"{path}?{urlencode(following)}"}
            meta = {"page": page, "max_results": size, "total": len(found)}
            self._send(200, {"_items": items, **({"_links": links} if state.hateoas else {}), "_meta": meta})

    return Handler


class EveServer:
    """The fake central DB running in a background thread; use as a context manager."""

    def __init__(self, docs: Documents, **options: Any) -> None:
        self.state = EveState(docs=docs, **options)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "EveServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
