"""Choose the data source for the configured mode (used by the API and the workers)."""

from swagger_server.adapters.central_db import CentralDbClient, CentralDbSource
from swagger_server.adapters.data_source import DataSource, SampleDataSource
from swagger_server.settings import Settings


def make_data_source(settings: Settings) -> DataSource:
    """Sample files with ``SAMPLE_DATA=1``, otherwise the central DB."""
    if settings.sample_data:
        return SampleDataSource(settings.sample_data_dir)
    return CentralDbSource(
        CentralDbClient(
            settings.central_db_base_url,
            settings.central_db_client_id,
            settings.central_db_username,
            settings.central_db_password.get_secret_value(),
            timeout=settings.central_db_timeout,
            retries=settings.central_db_retries,
            backoff=settings.central_db_backoff,
            page_size=settings.central_db_page_size,
        )
    )
