"""Fixtures of a fake central DB and a worker in central-DB mode (a pytest plugin, registered in tests/conftest.py)."""

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central_db.support import CENTRAL_QUEUE, central_env
from tests.fakes.eve_server import EveServer
from tests.services import celery_worker, service_env


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
    eve.state.announce_lifetime = True
    eve.state.hateoas = True
    eve.state.max_token_uses = None
    return eve


@pytest.fixture(scope="module")
def central_worker(eve: EveServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real worker process in central-DB mode."""
    env = service_env(redis_url, Path("/nonexistent"), CENTRAL_QUEUE, **central_env(eve))
    with celery_worker(env, tmp_path_factory.mktemp("central-worker") / "worker.log", name="central") as process:
        yield process
