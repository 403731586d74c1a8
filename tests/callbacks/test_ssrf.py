"""SSRF guard: non-public callback URLs are refused before any connection is made."""

import ipaddress
import socket
import ssl
import uuid

import httpx
import pytest
import trustme

from swagger_server.app import create_app
from swagger_server.core.callbacks import Allowlist, CallbackRefused, DeliveryPolicy, check_url, deliver_once, is_public
from swagger_server.core.job_store import JobStore
from swagger_server.core.jobs import JobRecord, JobRequest, JobState, utc_now
from tests.fakes.receiver import Receiver
from tests.jobs import AUTH, README_JOB, submit
from tests.off_loop import in_a_thread
from tests.services import make_settings
from workers.callback_delivery import deliver_step

pytestmark = pytest.mark.integration


def loopback_hostname() -> str | None:
    """This machine's own name when it resolves to loopback (it does on Debian), else None."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except socket.gaierror:
        return None
    return name if all(ipaddress.ip_address(a).is_loopback for a in addresses) else None


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    with Receiver(ipv6=True) as server:
        yield server


def refused_urls(port: int) -> list[str]:
    urls = [
        f"http://127.0.0.1:{port}/cb",
        f"http://localhost:{port}/cb",
        f"http://[::1]:{port}/cb",
        "http://169.254.169.254/latest/meta-data/",
        f"http://10.0.0.1:{port}/cb",
        f"http://2130706433:{port}/cb",  # 127.0.0.1 in decimal
        f"http://0x7f000001:{port}/cb",  # 127.0.0.1 in hex
        f"http://[::ffff:127.0.0.1]:{port}/cb",  # IPv4-mapped IPv6
        "http://[::ffff:169.254.169.254]/cb",
        f"https://127.1:{port}/cb",  # short form
    ]
    name = loopback_hostname()
    if name:
        urls.append(f"http://{name}:{port}/cb")
    return urls


def test_refused_at_submit_time_without_any_connection(receiver, redis_url, service_sample_dir, queue_name) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(redis_url, service_sample_dir, queue_name, callback_allowed_hosts="")
    client = create_app(settings).test_client()
    for url in refused_urls(receiver.port):
        response = client.post("/pricing", json={**README_JOB, "callback": {"url": url}}, headers=AUTH)
        assert response.status_code == 400, (url, response.text)
        assert response.json()["field"] == "callback.url" and "non-public" in response.json()["detail"]
    assert receiver.connections == 0


def test_refused_at_delivery_time_without_any_connection(receiver, redis_url) -> None:  # type: ignore[no-untyped-def]
    store = JobStore.from_url(redis_url, retention_days=1)
    job_id = str(uuid.uuid4())
    request = JobRequest.from_json({**README_JOB, "callback": {"url": receiver.url()}})
    store.create(JobRecord(job_id=job_id, state=JobState.QUEUED, request=request, submitted_at=utc_now()))
    store.mark_started(job_id)
    store.mark_success(job_id, {"plots": {}, "raw_data": {}, "warnings": []})
    policy = DeliveryPolicy(Allowlist.parse([]), "", httpx.Timeout(1.0), 5.0, 0.1, 1.0, 5.0)
    assert deliver_step(job_id, store, policy) is None
    delivery = store.get(job_id).callback
    assert delivery is not None and delivery.state == "failed" and "non-public" in (delivery.reason or "")
    assert receiver.connections == 0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.215.14", True),
        ("4000::1", False),  # IETF-reserved IPv6 space, which Python also counts as global
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_allowlist_opens_hosts_and_networks() -> None:
    allow = Allowlist.parse(["localhost", "127.0.0.0/8"])
    assert check_url("http://localhost:9000/x", allow).address.is_loopback
    assert str(check_url("http://127.0.0.1:9000/x", allow).address) == "127.0.0.1"
    with pytest.raises(CallbackRefused):
        check_url("http://[::1]:9000/x", Allowlist.parse(["127.0.0.0/8"]))


def test_allowlist_entries_are_read_as_an_operator_writes_them() -> None:
    """Host names in any case and with the root's trailing dot; a network given by one of its addresses."""
    allow = Allowlist.parse(["Hooks.Example.ORG.", "10.1.2.3/8"])
    assert allow.hosts == {"hooks.example.org"}
    public = ipaddress.ip_address("203.0.113.5")
    assert allow.allows("hooks.example.org", public) and allow.allows("HOOKS.example.org.", public)
    assert allow.allows("elsewhere.test", ipaddress.ip_address("10.200.0.1"))
    assert not allow.allows("elsewhere.test", ipaddress.ip_address("11.0.0.1"))


def test_the_checked_address_is_the_one_connected_to() -> None:
    target = check_url("http://localhost:9000/cb?x=1", Allowlist.parse(["localhost"]))
    assert target.pinned_url in ("http://127.0.0.1:9000/cb?x=1", "http://[::1]:9000/cb?x=1")
    assert target.host == "localhost"


def resolving(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Make ``names`` resolve to the given addresses (and any other name as usual); an empty list: no such host.

    Returns the list the lookups of those names are appended to.
    """
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in names:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        if not names[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in names[host]]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return lookups


@pytest.mark.parametrize(
    ("url", "port"),
    [("https://hooks.port.test/cb", 443), ("HTTPS://hooks.port.test/cb", 443), ("http://hooks.port.test/cb", 80)],
)
def test_the_scheme_s_default_port_is_the_one_checked(monkeypatch: pytest.MonkeyPatch, url: str, port: int) -> None:
    resolving(monkeypatch, {"hooks.port.test": ["93.184.215.14"]})
    target = check_url(url, Allowlist.parse([]))
    assert (target.port, target.host_header) == (port, "hooks.port.test")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/cb", "is not a valid URL (Invalid IPv6 URL)"),
        ("http:///cb", "is not an http(s) URL with a host"),
        ("ftp://hooks.example.org/cb", "is not an http(s) URL with a host"),
        ("http://hooks!.example.org/cb", "has an invalid host name"),
    ],
)
def test_a_malformed_callback_url_is_refused_saying_what_is_wrong(url: str, reason: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        check_url(url, Allowlist.parse([]))
    assert str(refused.value) == f"callback URL {url!r} {reason}"


def test_a_refused_host_names_every_private_address_and_the_setting_that_opens_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, {"hooks.inside.test": ["10.0.0.5", "93.184.215.14", "192.168.1.9"]})
    with pytest.raises(CallbackRefused) as refused:
        check_url("http://hooks.inside.test/cb", Allowlist.parse([]))
    assert str(refused.value) == (
        "callback host 'hooks.inside.test' resolves to a non-public address (10.0.0.5, 192.168.1.9); "
        "add it to CALLBACK_ALLOWED_HOSTS to allow it"
    )


def test_a_rebinding_host_is_posted_to_the_address_that_was_checked(receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """DNS rebinding: the name resolves to the allowed receiver when checked and elsewhere afterwards.

    The POST must go to the checked address (with the name in ``Host``), never to a second resolution:
    a delivery that resolved the name again would connect to 10.255.255.1 and fail.
    """
    checked = resolving(monkeypatch, {"hooks.rebind.test": ["127.0.0.1"]})
    target = check_url(f"http://hooks.rebind.test:{receiver.port}/cb", Allowlist.parse(["127.0.0.0/8"]))
    assert checked == ["hooks.rebind.test"]
    rebound = resolving(monkeypatch, {"hooks.rebind.test": ["10.255.255.1"]})  # the name now points elsewhere
    attempt = deliver_in_a_thread(target, {"x": 1})
    assert attempt.outcome == "delivered", attempt
    assert rebound == []  # the delivery did not resolve the name again
    [request] = receiver.received
    assert request.headers["Host"] == f"hooks.rebind.test:{receiver.port}"


def deliver_in_a_thread(target, payload: dict[str, int]):  # type: ignore[no-untyped-def]
    """``deliver_once`` as the delivery worker's thread pool calls it."""
    return in_a_thread(deliver_once, target, payload, {}, "msg_t", "", httpx.Timeout(2.0), 5.0, utc_now())


def test_a_host_with_one_private_address_among_public_ones_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    resolving(
        monkeypatch, {"hooks.mixed.test": ["93.184.215.14", "10.0.0.5", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]}
    )
    with pytest.raises(CallbackRefused, match=r"non-public address \(10\.0\.0\.5\)"):
        check_url("https://hooks.mixed.test/cb", Allowlist.parse([]))


def test_a_host_unresolvable_at_submit_is_accepted_and_its_delivery_fails_saying_so(  # type: ignore[no-untyped-def]
    monkeypatch, redis_url, service_sample_dir, queue_name
) -> None:
    """DNS may not know the name yet when the job is submitted; at delivery it must, or the callback fails."""
    resolving(monkeypatch, {"hooks.later.test": []})
    settings = make_settings(redis_url, service_sample_dir, queue_name, callback_allowed_hosts="")
    client = create_app(settings).test_client()
    job_id = submit(client, callback={"url": "https://hooks.later.test/cb"})
    store = JobStore.from_url(redis_url, retention_days=1)
    store.mark_started(job_id)  # the job's end, as a worker records it
    store.mark_success(job_id, {"plots": {}, "raw_data": {}, "warnings": []})
    policy = DeliveryPolicy(Allowlist.parse([]), "", httpx.Timeout(1.0), 5.0, 0.1, 1.0, 5.0)
    assert deliver_step(job_id, store, policy) is None  # no further attempt
    delivery = store.get(job_id).callback
    assert delivery is not None and delivery.state == "failed"
    assert "'hooks.later.test' does not resolve" in (delivery.reason or "")


def test_an_https_callback_goes_to_the_checked_address_with_sni_and_a_verified_certificate(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The TLS client asks for the host name (SNI) and checks the certificate against it, not against the address."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.tls.test").configure_cert(server_context)
    resolving(monkeypatch, {"hooks.tls.test": ["127.0.0.1"], "other.tls.test": ["127.0.0.1"]})
    allow = Allowlist.parse(["127.0.0.0/8"])
    with Receiver(tls=server_context) as receiver, ca.cert_pem.tempfile() as ca_file:
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # httpx trusts the test CA (and only it)
        attempt = deliver_in_a_thread(check_url(f"https://hooks.tls.test:{receiver.port}/cb", allow), {"x": 1})
        assert attempt.outcome == "delivered", attempt
        assert receiver.server_names == ["hooks.tls.test"]
        assert receiver.received[0].headers["Host"] == f"hooks.tls.test:{receiver.port}"
        # Same address, another name: the certificate does not match it, so nothing is posted.
        wrong = deliver_in_a_thread(check_url(f"https://other.tls.test:{receiver.port}/cb", allow), {"x": 2})
        assert wrong.outcome == "retry" and wrong.error == "connection failed (ConnectError)", wrong
        assert len(receiver.received) == 1
