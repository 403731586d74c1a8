"""A fake central DB, a worker in central-DB mode and an app in central-DB mode."""

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from swagger_server.app import create_app
from swagger_server.sample_data import SAMPLE_DIR
from tests.fakes.eve_server import EveServer
from tests.services import celery_worker, make_settings, service_env

CENTRAL_QUEUE = "pricing-central"


def central_env(eve: EveServer) -> dict[str, str]:
    """Settings of a process in central-DB mode pointed at ``eve`` (short timeouts, small pages)."""
    return {
        "SAMPLE_DATA": "0",
        "CENTRAL_DB_BASE_URL": eve.url,
        "CENTRAL_DB_CLIENT_ID": "pricing",
        "CENTRAL_DB_USERNAME": eve.state.username,
        "CENTRAL_DB_PASSWORD": eve.state.password,
        "CENTRAL_DB_TIMEOUT": "1",
        "CENTRAL_DB_RETRIES": "3",
        "CENTRAL_DB_BACKOFF": "0.05",
        "CENTRAL_DB_PAGE_SIZE": "50",
        "AUTH_CACHE_SECONDS": "30",
    }


@pytest.fixture(scope="module")
def eve(sample_docs) -> Iterator[EveServer]:  # type: ignore[no-untyped-def]
    """The fake central DB, serving the generated sample unless a test swaps ``state.docs``."""
    with EveServer(copy.deepcopy(sample_docs)) as server:
        yield server


@pytest.fixture
def fresh_eve(eve: EveServer, sample_docs) -> EveServer:  # type: ignore[no-untyped-def]
    """The fake central DB reset to the sample data, no faults, normal tokens."""
    eve.state.docs = copy.deepcopy(sample_docs)
    eve.state.faults.clear()
    eve.state.calls.clear()
    eve.state.token_lifetime = 3600.0
    return eve


@pytest.fixture(scope="module")
def central_worker(eve: EveServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real worker process in central-DB mode."""
    env = service_env(redis_url, Path("/nonexistent"), CENTRAL_QUEUE, **central_env(eve))
    with celery_worker(env, tmp_path_factory.mktemp("central-worker") / "worker.log", name="central") as process:
        yield process


@pytest.fixture
def central_client(fresh_eve: EveServer, central_worker, redis_url: str):  # type: ignore[no-untyped-def]
    """An in-process app in central-DB mode (tokens checked by the fake's /authorization/)."""
    settings = make_settings(
        redis_url,
        Path("/nonexistent"),
        CENTRAL_QUEUE,
        sample_data=False,
        central_db_base_url=fresh_eve.url,
        central_db_client_id="pricing",
        central_db_username=fresh_eve.state.username,
        central_db_password=fresh_eve.state.password,
        central_db_timeout=1.0,
        central_db_retries=3,
        central_db_backoff=0.05,
        central_db_page_size=50,
    )
    return create_app(settings).test_client()


@pytest.fixture(scope="module")
def sample_mode_client(redis_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A worker and an app in sample-data mode on the committed sample files (what the fake serves)."""
    queue = "pricing-committed-sample"
    env = service_env(redis_url, SAMPLE_DIR, queue)
    with celery_worker(env, tmp_path_factory.mktemp("sample-worker") / "worker.log", name="sample"):
        yield create_app(make_settings(redis_url, SAMPLE_DIR, queue)).test_client()


def user_token(eve: EveServer, scope: str = "post_pricing") -> dict[str, str]:
    """An Authorization header with a token the fake central DB issued."""
    return {"Authorization": f"Bearer {eve.state.issue_token(scope)}"}
