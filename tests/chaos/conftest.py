"""The chaos suite's services: a private Redis it may kill, a real API process on it, the workers' settings."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from swagger_server.embedded import free_port
from tests.chaos.rig import PrivateRedis
from tests.documents import generated_sample_dir
from tests.services import CALLBACK_TEST_SETTINGS, api_server, service_env


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A Redis of this module's own, with an append-only file, as ``make run`` starts one."""
    server = PrivateRedis(free_port(), tmp_path_factory.mktemp("chaos-redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chaos_sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample files with 2 700 users per level: a job of all of them outlasts a short visibility timeout."""
    return generated_sample_dir(tmp_path_factory, "chaos-sample-data", users_per_level=2700)


@pytest.fixture(scope="module")
def chaos_env(private_redis: PrivateRedis, chaos_sample_dir: Path) -> dict[str, str]:
    """Settings of the API and workers: sample data, the private Redis, default heartbeats and visibility."""
    queue = f"pricing-chaos-{uuid.uuid4().hex[:8]}"
    return service_env(private_redis.url, chaos_sample_dir, queue, **CALLBACK_TEST_SETTINGS)


@pytest.fixture(scope="module")
def api(chaos_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A real API process on the private Redis, and an HTTP client of it."""
    with api_server(chaos_env, tmp_path_factory.mktemp("chaos-api") / "api.log") as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            yield client
