"""The fake central DB's settings and tokens, shared by the central-DB and browser tests."""

from pathlib import Path

from swagger_server.core.settings import Settings
from tests.fakes.eve_server import EveServer
from tests.services import make_settings

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
        "CENTRAL_DB_OUTAGE_SECONDS": "0",
        "AUTH_CACHE_SECONDS": "30",
    }


def user_token(eve: EveServer, scope: str = "post_pricing") -> dict[str, str]:
    """An Authorization header with a token the fake central DB issued."""
    return {"Authorization": f"Bearer {eve.state.issue_token(scope)}"}


def central_settings(redis_url: str, queue: str, eve: EveServer, **overrides: object) -> Settings:
    """Settings of an in-process app in central-DB mode on ``eve`` (tokens checked by its /authorization/)."""
    return make_settings(
        redis_url,
        Path("/nonexistent"),
        queue,
        sample_data=False,
        central_db_base_url=eve.url,
        central_db_client_id="pricing",
        central_db_username=eve.state.username,
        central_db_password=eve.state.password,
        **overrides,
    )
