"""An app in central-DB mode and one in sample-data mode on the committed sample files."""

import pytest

from swagger_server.app import create_app
from swagger_server.sample_data import SAMPLE_DIR
from tests.central_db.support import CENTRAL_QUEUE, central_settings
from tests.fakes.eve_server import EveServer
from tests.services import celery_worker, make_settings, service_env


@pytest.fixture
def central_api(fresh_eve: EveServer, redis_url: str):  # type: ignore[no-untyped-def]
    """An in-process app in central-DB mode (tokens checked by the fake's /authorization/), no worker behind it."""
    settings = central_settings(
        redis_url,
        CENTRAL_QUEUE,
        fresh_eve,
        central_db_timeout=1.0,
        central_db_retries=3,
        central_db_backoff=0.05,
        central_db_page_size=50,
    )
    return create_app(settings).test_client()


@pytest.fixture
def central_client(central_api, central_worker):  # type: ignore[no-untyped-def]
    """The central-DB app with a real worker in central-DB mode behind it."""
    return central_api


@pytest.fixture(scope="module")
def sample_mode_client(redis_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A worker and an app in sample-data mode on the committed sample files (what the fake serves)."""
    queue = "pricing-committed-sample"
    env = service_env(redis_url, SAMPLE_DIR, queue)
    with celery_worker(env, tmp_path_factory.mktemp("sample-worker") / "worker.log", name="sample"):
        yield create_app(make_settings(redis_url, SAMPLE_DIR, queue)).test_client()
