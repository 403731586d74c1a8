"""The production servers start the app from the files in config/ and answer /health and a POST."""

import shutil
import sys
from pathlib import Path

import httpx
import pytest

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


def test_uwsgi_from_the_original_ini(redis_url, service_sample_dir, queue_name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    uwsgi = BIN / "uwsgi"
    if not uwsgi.exists():
        uwsgi = Path(shutil.which("uwsgi") or "/nonexistent")
    assert uwsgi.exists(), "uwsgi comes with pyuwsgi (requirements.txt)"
    port = free_port()
    env = service_env(redis_url, service_sample_dir, queue_name, PRICING_HTTP_SOCKET=f"127.0.0.1:{port}")
    command = [str(uwsgi), "--ini", "config/pricing_service.ini", "--virtualenv", sys.prefix, "--processes", "2"]
    with running(command, env, tmp_path / "uwsgi.log", answers_health(port), "uwsgi"):
        exercise(port)
