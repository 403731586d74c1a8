"""A real HTTP(S) callback receiver on 127.0.0.1 (and ::1) whose answers a test scripts."""

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    delay: float = 0.0
    #: Seconds between the bytes of the body (0: all at once): a receiver that drips its answer.
    drip: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "thanks"


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class Receiver:
    """Answers scripted replies in order (then 200), records requests and accepted connections."""

    def __init__(self, port: int = 0, ipv6: bool = False, tls: ssl.SSLContext | None = None) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self.connections = 0
        #: With ``tls``: the server name (SNI) each TLS client asked for.
        self.server_names: list[str | None] = []
        self.scheme = "https" if tls else "http"
        self.lock = threading.Lock()
        handler = self._handler()
        self._servers = [ThreadingHTTPServer(("127.0.0.1", port), handler)]
        self.port = self._servers[0].server_address[1]
        if ipv6:
            self._servers.append(_V6Server(("::1", self.port), handler))
        for server in self._servers:
            server.daemon_threads = True
            original = server.process_request

            def counted(request: Any, address: Any, _original: Any = original) -> None:
                with self.lock:
                    self.connections += 1
                _original(request, address)

            server.process_request = counted  # type: ignore[method-assign]
            if tls is not None:
                tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)  # type: ignore[assignment]
                server.socket = tls.wrap_socket(server.socket, server_side=True)
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self._servers]

    def url(self, path: str = "/pricing") -> str:
        """The receiver's URL on 127.0.0.1."""
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                    reply = receiver.replies.pop(0) if receiver.replies else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if not reply.drip:
                        self.wfile.write(payload)
                    for byte in payload if reply.drip else b"":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(reply.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler

    def __enter__(self) -> "Receiver":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
