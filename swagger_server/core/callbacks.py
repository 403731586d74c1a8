"""Deliver a job's result to the client's callback URL: once, signed, and never into private networks.

- **SSRF guard.** The URL's host is resolved once; every resolved address must
  be public (not loopback, private, link-local, multicast, reserved, unspecified,
  or an IPv4-mapped form of those), unless the host or address is on the
  allowlist. The request then goes to the address that was checked (no second
  resolution); for https the certificate is still checked against the hostname.
- **Signing** per Standard Webhooks: ``webhook-id`` (stable across retries),
  ``webhook-timestamp`` and ``webhook-signature`` = ``v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">``; unsigned when no secret is configured.
- **One attempt** at a time: :func:`deliver_once` POSTs and classifies the
  outcome (delivered / retry later / failed for good). Redirects are not
  followed.
- **Policy**: :class:`DeliveryPolicy` (from the settings) says when to try
  again: exponential backoff with jitter, ``Retry-After`` honoured, capped.
"""

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import random
import re
import socket
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from swagger_server.core.jobs import DeliveryAttempt, JsonObject
from swagger_server.core.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Headers a client's callback headers cannot override.
PROTECTED_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature", "content-length", "host"}
RESPONSE_EXCERPT = 1000
#: Host names (after IDNA encoding) and IP literals.
_HOST = re.compile(r"[A-Za-z0-9._:-]{1,253}")


class CallbackRefused(ValueError):
    """The callback URL may not be called (not http(s), or not a public address)."""


class CallbackUnresolvable(CallbackRefused):
    """The callback host does not resolve (now); at submit time that is not yet a reason to refuse."""


@dataclass(frozen=True)
class Allowlist:
    """Hosts and networks callbacks may reach even though they are not public."""

    hosts: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, items: list[str]) -> "Allowlist":
        """``["localhost", "127.0.0.0/8", "10.1.2.3"]`` -> hosts and networks."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        """True if the host name or the address is allowlisted."""
        return host.lower().rstrip(".") in self.hosts or any(address in net for net in self.networks)


def is_public(address: Address) -> bool:
    """A global unicast address (IPv4-mapped IPv6 is judged by its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


@dataclass(frozen=True)
class Target:
    """A checked callback destination: connect to ``address``, present ``host``."""

    url: str
    host: str
    port: int
    address: Address

    @property
    def host_header(self) -> str:
        """The ``Host`` the receiver sees: the name, with the port only when it is not the scheme's default."""
        return self.host if self.port in (80, 443) else f"{self.host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with the host replaced by the checked address."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return urlunsplit((parts.scheme, f"{literal}:{self.port}", parts.path or "/", parts.query, ""))


def check_url(url: str, allowlist: Allowlist) -> Target:
    """Resolve the URL's host once and check every address; the target to connect to.

    Raises :class:`CallbackRefused` naming the reason.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        ascii_host = host.encode("idna").decode("ascii") if host else ""
    except (ValueError, UnicodeError) as exc:
        raise CallbackRefused(f"callback URL {url!r} is not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise CallbackRefused(f"callback URL {url!r} is not an http(s) URL with a host")
    if not _HOST.fullmatch(ascii_host):
        raise CallbackRefused(f"callback URL {url!r} has an invalid host name")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackUnresolvable(f"callback host {host!r} does not resolve ({exc})") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    refused = [a for a in addresses if not (is_public(a) or allowlist.allows(host, a))]
    if refused or not addresses:
        raise CallbackRefused(
            f"callback host {host!r} resolves to a non-public address ({', '.join(map(str, refused))}); "
            "add it to CALLBACK_ALLOWED_HOSTS to allow it"
        )
    return Target(url=url, host=host, port=port, address=addresses[0])


def webhook_secret(secret: str) -> bytes:
    """The signing key of a Standard Webhooks ``whsec_<base64>`` secret (the settings refuse any other form)."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64(HMAC-SHA256(key, "id.timestamp.body"))>``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def build_headers(
    client_headers: dict[str, str], message_id: str, timestamp: int, body: bytes, secret: str
) -> dict[str, str]:
    """The client's headers, then ours (they cannot override signature headers, Content-Length or Host)."""
    headers = {k: v for k, v in client_headers.items() if k.lower() not in PROTECTED_HEADERS}
    asked = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = "application/vnd.api+json" if "vnd.api+json" in asked else "application/json"
    headers["webhook-id"] = message_id
    headers["webhook-timestamp"] = str(timestamp)
    if secret:
        headers["webhook-signature"] = sign(secret, message_id, timestamp, body)
    return headers


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def deliver_once(
    target: Target,
    payload: JsonObject,
    client_headers: dict[str, str],
    message_id: str,
    secret: str,
    timeouts: httpx.Timeout,
    deadline: float,
    now: str,
) -> DeliveryAttempt:
    """POST ``payload`` once to the checked address and classify the outcome.

    ``timeouts`` bound each connect and read; ``deadline`` bounds the whole
    attempt, so a receiver that drips its answer a byte at a time is cut off.
    """
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = build_headers(client_headers, message_id, int(time.time()), body, secret)
    headers["Host"] = target.host_header
    extensions = {"sni_hostname": target.host} if target.url.lower().startswith("https") else {}

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(timeout=timeouts, follow_redirects=False) as client:
            request = client.build_request(
                "POST", target.pinned_url, content=body, headers=headers, extensions=extensions
            )
            return await client.send(request)

    try:
        response = asyncio.run(asyncio.wait_for(post(), deadline))
    except TimeoutError:
        return DeliveryAttempt(at=now, outcome="retry", error=f"no complete answer within {deadline:g} s")
    except httpx.TimeoutException as exc:
        return DeliveryAttempt(at=now, outcome="retry", error=f"timeout ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return DeliveryAttempt(at=now, outcome="retry", error=f"connection failed ({type(exc).__name__})")
    code, excerpt = response.status_code, response.text[:RESPONSE_EXCERPT]
    if 200 <= code < 300:
        return DeliveryAttempt(at=now, outcome="delivered", status=code, body=excerpt)
    if code == 429 or code >= 500:
        return DeliveryAttempt(
            at=now,
            outcome="retry",
            status=code,
            body=excerpt,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if 300 <= code < 400:
        return DeliveryAttempt(at=now, outcome="failed", status=code, error="redirect not followed", body=excerpt)
    return DeliveryAttempt(at=now, outcome="failed", status=code, body=excerpt)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How callbacks are delivered: where they may go, how they are signed, when to try again."""

    allowlist: Allowlist
    secret: str
    timeouts: httpx.Timeout
    deadline: float
    retry_base: float
    retry_cap: float
    retry_total: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeliveryPolicy":
        """The policy the settings describe (``CALLBACK_*``)."""
        return cls(
            allowlist=Allowlist.parse(settings.callback_allowlist),
            secret=settings.callback_secret.get_secret_value(),
            timeouts=httpx.Timeout(settings.callback_read_timeout, connect=settings.callback_connect_timeout),
            deadline=settings.callback_attempt_deadline,
            retry_base=settings.callback_retry_base,
            retry_cap=settings.callback_retry_cap,
            retry_total=settings.callback_retry_total,
        )

    def backoff(self, attempt_number: int, rng: random.Random | None = None) -> float:
        """Delay before attempt ``n + 1``: ``min(cap, base * 2^(n-1)) * U(0.8, 1.2)`` (jitter)."""
        rng = rng or random.Random()
        return float(min(self.retry_cap, self.retry_base * 2 ** (attempt_number - 1)) * rng.uniform(0.8, 1.2))
