"""The production servers start the app from the files in config/ and answer /health and a POST."""

import json
import shutil
import socket
import struct
import sys
from pathlib import Path

import httpx
import pytest

from tests.documents import REPO_ROOT
from tests.jobs import AUTH, README_JOB, wait_for
from tests.services import answers_health, free_port, running, service_env

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
BIN = Path(sys.executable).parent


def exercise(port: int) -> None:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    assert client.get("/health").json()["status"] == "ok"
    response = client.post("/pricing", json={**README_JOB, "callback": None}, headers=AUTH)
    assert response.status_code == 201, response.text
    assert wait_for(client, response.json()["job_id"])["status"] == "SUCCESS"


def test_gunicorn_with_uvicorn_workers(redis_url, service_sample_dir, queue_name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = service_env(redis_url, service_sample_dir, queue_name)
    command = [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    with running(command, env, tmp_path / "gunicorn.log", answers_health(port), "gunicorn"):
        exercise(port)
    assert "Booting worker" in (tmp_path / "gunicorn.log").read_text()


def uwsgi_binary() -> Path:
    uwsgi = BIN / "uwsgi"
    if not uwsgi.exists():
        uwsgi = Path(shutil.which("uwsgi") or "/nonexistent")
    assert uwsgi.exists(), "uwsgi comes with pyuwsgi (requirements.txt)"
    return uwsgi


def uwsgi_request(path: Path, method: str, url: str, body: bytes = b"", timeout: float = 30) -> tuple[int, bytes]:
    """One request in the uwsgi protocol, as nginx's ``uwsgi_pass`` sends it: a 4-byte header, the CGI variables,
    then the body; the answer is plain HTTP. Written here: the framing is a few lines, and no maintained Python
    client of it exists."""
    variables = {
        "REQUEST_METHOD": method,
        "PATH_INFO": url.split("?")[0],
        "QUERY_STRING": url.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "pricing.example",
        "SERVER_PORT": "443",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "pricing.example",
        "HTTP_AUTHORIZATION": AUTH["Authorization"],
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
    }
    packed = b"".join(
        struct.pack("<H", len(k)) + k.encode() + struct.pack("<H", len(v)) + v.encode() for k, v in variables.items()
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(str(path))
        connection.sendall(struct.pack("<BHB", 0, len(packed), 0) + packed + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), content


def test_uwsgi_on_the_unix_socket_nginx_talks_to(redis_url, service_sample_dir, queue_name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The ini's default (no PRICING_HTTP_SOCKET): the uwsgi protocol on a unix socket, the protocol nginx's uwsgi_pass speaks."""
    path = tmp_path / "pricing.sock"
    shipped = (REPO_ROOT / "config" / "pricing_service.ini").read_text()
    assert "socket = /run/pricing/pricing.sock" in shipped
    ini = tmp_path / "pricing_service.ini"  # the shipped file, its socket moved into this test's folder
    ini.write_text(shipped.replace("/run/pricing/pricing.sock", str(path)).replace("%d..", str(REPO_ROOT)))
    env = service_env(redis_url, service_sample_dir, queue_name)
    env.pop("PRICING_HTTP_SOCKET", None)
    command = [str(uwsgi_binary()), "--ini", str(ini), "--virtualenv", sys.prefix, "--processes", "2"]

    def answers() -> bool:
        try:
            return path.exists() and uwsgi_request(path, "GET", "/health", timeout=5)[0] == 200
        except OSError:  # not listening yet, or still loading the app
            return False

    with running(command, env, tmp_path / "uwsgi.log", answers, "uwsgi on a unix socket", timeout=120):
        body = json.dumps({**README_JOB, "callback": None}).encode()
        status, created = uwsgi_request(path, "POST", "/pricing", body)
        assert status == 201, created
        job_id = json.loads(created)["job_id"]
        status, listed = uwsgi_request(path, "GET", "/pricing?limit=5")
        assert status == 200 and job_id in {item["job_id"] for item in json.loads(listed)["items"]}


def test_uwsgi_from_the_original_ini(redis_url, service_sample_dir, queue_name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    uwsgi = uwsgi_binary()
    port = free_port()
    env = service_env(redis_url, service_sample_dir, queue_name, PRICING_HTTP_SOCKET=f"127.0.0.1:{port}")
    command = [str(uwsgi), "--ini", "config/pricing_service.ini", "--virtualenv", sys.prefix, "--processes", "2"]
    with running(command, env, tmp_path / "uwsgi.log", answers_health(port), "uwsgi"):
        exercise(port)
